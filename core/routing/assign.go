package routing

import (
	"cmp"
	"slices"
	"time"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

// Waiting is a conversation waiting for an operator.
type Waiting struct {
	ID         string
	Department string
	Priority   conversation.Priority
	// Since is when it started waiting.
	Since time.Time
	// LastOperator is the operator who served the customer's previous
	// handoff: they get it back when online with room.
	LastOperator string
}

// Operator is an operator as assignment sees them.
type Operator struct {
	ID string
	// Departments the operator serves.
	Departments []string
	// Online operators get conversations.
	Online bool
	// Capacity is how many conversations they hold at most (max_chats),
	// Active how many they hold now.
	Capacity, Active int
	// LastAssigned orders operators with as few active conversations as
	// each other: the one given a conversation longest ago comes first
	// (round robin). Assign sets it to the sequence number it used.
	LastAssigned uint64
}

// Assignment gives a waiting conversation to an operator.
type Assignment struct {
	Conversation string
	Operator     string
}

// Compare orders a before b (-1) or after it (1) as they are served:
// higher priority first, then the longer wait, then the id (so the order
// is total).
func Compare(a, b Waiting) int { return compareWaiting(&a, &b) }

func compareWaiting(a, b *Waiting) int {
	if a.Priority != b.Priority {
		return cmp.Compare(b.Priority, a.Priority)
	}
	if c := a.Since.Compare(b.Since); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// sortAbove is the number of free places above which Assign sorts the
// queue once instead of scanning it for each place.
const sortAbove = 8

// Assign decides which waiting conversations go to which operators now:
// the queue is served highest priority first, then oldest first; each
// conversation goes to its last operator when they are online with room,
// else to the online operator of its department with room who has the
// fewest active conversations, the one assigned longest ago among ties.
// ops is updated (Active, LastAssigned) as assignments are made; seq is
// the last sequence number used for LastAssigned, and the new one is
// returned. Conversations no operator can take stay waiting.
func Assign(waiting []Waiting, ops []Operator, seq uint64) ([]Assignment, uint64) {
	byDept := map[string][]int{}
	free := 0
	for i, op := range ops {
		if !op.Online || op.Active >= op.Capacity {
			continue
		}
		free += op.Capacity - op.Active
		for _, d := range op.Departments {
			byDept[d] = append(byDept[d], i)
		}
	}
	if free == 0 || len(waiting) == 0 {
		return nil, seq
	}
	byID := map[string]int{}
	for i, op := range ops {
		byID[op.ID] = i
	}
	pick := func(w Waiting) int {
		if i, ok := byID[w.LastOperator]; ok && w.LastOperator != "" {
			if op := ops[i]; op.Online && op.Active < op.Capacity && slices.Contains(op.Departments, w.Department) {
				return i
			}
		}
		best := -1
		for _, i := range byDept[w.Department] {
			op := ops[i]
			if op.Active >= op.Capacity {
				continue
			}
			if best < 0 || op.Active < ops[best].Active ||
				(op.Active == ops[best].Active && (op.LastAssigned < ops[best].LastAssigned ||
					(op.LastAssigned == ops[best].LastAssigned && op.ID < ops[best].ID))) {
				best = i
			}
		}
		return best
	}
	var out []Assignment
	assign := func(w Waiting, i int) {
		seq++
		ops[i].Active++
		ops[i].LastAssigned = seq
		free--
		out = append(out, Assignment{Conversation: w.ID, Operator: ops[i].ID})
	}
	if free > sortAbove {
		queue := slices.Clone(waiting)
		slices.SortFunc(queue, func(a, b Waiting) int { return compareWaiting(&a, &b) })
		for _, w := range queue {
			if free == 0 {
				break
			}
			if i := pick(w); i >= 0 {
				assign(w, i)
			}
		}
		return out, seq
	}
	// Few places: one scan of the queue per place.
	taken := map[string]bool{}
	for free > 0 {
		room := map[string]bool{}
		for d, idx := range byDept {
			for _, i := range idx {
				if ops[i].Active < ops[i].Capacity {
					room[d] = true
					break
				}
			}
		}
		best := -1
		for k := range waiting {
			w := &waiting[k]
			if best >= 0 && compareWaiting(w, &waiting[best]) >= 0 {
				continue
			}
			if !room[w.Department] && !lastHasRoom(ops, byID, *w) {
				continue
			}
			if len(taken) > 0 && taken[w.ID] {
				continue
			}
			best = k
		}
		if best < 0 {
			break
		}
		taken[waiting[best].ID] = true
		assign(waiting[best], pick(waiting[best]))
	}
	return out, seq
}

func lastHasRoom(ops []Operator, byID map[string]int, w Waiting) bool {
	if w.LastOperator == "" {
		return false
	}
	i, ok := byID[w.LastOperator]
	return ok && ops[i].Online && ops[i].Active < ops[i].Capacity && slices.Contains(ops[i].Departments, w.Department)
}
