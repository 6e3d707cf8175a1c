package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/core/conversation"

	"github.com/switchboard-chat/switchboard/sdk"
)

// InboxItem is a committed event waiting for the engine.
type InboxItem struct {
	Seq     uint64 `json:"seq"`
	Channel string `json:"channel"`
	// ConversationID is set for events from visitors; desk events are
	// mapped to their conversation by the engine.
	ConversationID string `json:"conversation_id,omitempty"`
	// MessageID is the transcript message written for the event, if any.
	MessageID  uint64    `json:"message_id,omitempty"`
	Event      sdk.Event `json:"event"`
	ReceivedAt time.Time `json:"received_at"`
}

// CommitResult says what became of a batch of events.
type CommitResult struct {
	// Accepted are the new events: in the inbox, or settled in the same
	// commit (see SettleAtIntake; their Seq is 0).
	Accepted []InboxItem
	// Duplicates counts events whose ID was seen before.
	Duplicates int
}

// fromVisitor reports whether events of kind k belong to a visitor's
// conversation on the channel itself (as opposed to a desk's events about a
// handed-off conversation).
func fromVisitor(k sdk.EventKind) bool {
	switch k {
	case sdk.KindMessage, sdk.KindUnsupported, sdk.KindFollow, sdk.KindUnfollow, sdk.KindPostback:
		return true
	}
	return false
}

// CommitEvents durably records a channel's events: drops the ones whose ID
// was seen before, finds or creates each visitor's conversation, writes
// visitor messages to the transcript and queues every new event in the
// inbox, all in one group commit; a visitor's event the engine can settle
// at once (see SettleAtIntake) has its effects written in that commit
// instead of being queued. When it returns nil the events are safe
// and the platform may be told so.
func (s *Store) CommitEvents(ctx context.Context, channel string, events []sdk.Event) (CommitResult, error) {
	for i, e := range events {
		if e.ID == "" {
			return CommitResult{}, fmt.Errorf("channel %s: event %d has no ID", channel, i)
		}
		if e.Kind == "" {
			return CommitResult{}, fmt.Errorf("channel %s: event %s has no kind", channel, e.ID)
		}
	}
	var res CommitResult
	now := s.opts.Now().UTC()
	err := s.Update(ctx, func(tx *Tx) error {
		res = CommitResult{Accepted: res.Accepted[:0]}
		settle := s.settle.Load()
		var touched []string
		var queued []InboxItem
		for _, e := range events {
			dup, err := s.markSeen(tx.Tx, channel, e.ID, now)
			if err != nil {
				return err
			}
			if dup {
				res.Duplicates++
				continue
			}
			if e.Time.IsZero() {
				e.Time = now
			}
			item := InboxItem{Channel: channel, Event: e, ReceivedAt: now}
			if fromVisitor(e.Kind) {
				conv, err := s.visitorConversation(tx, channel, e, now)
				if err != nil {
					return err
				}
				item.ConversationID = conv.ID
				if e.Kind == sdk.KindMessage || e.Kind == sdk.KindUnsupported {
					m := Message{
						ConversationID: conv.ID, Role: conversation.RoleVisitor, Text: e.Text,
						Attachments: e.Attachments, EventID: e.ID, CreatedAt: e.Time,
					}
					if err := appendMessage(tx, &m); err != nil {
						return err
					}
					item.MessageID = m.ID
					touched = append(touched, conv.ID)
				}
				if settle != nil {
					done, err := (*settle)(tx, item, conv.State)
					if err != nil {
						return err
					}
					if done {
						res.Accepted = append(res.Accepted, item)
						continue
					}
				}
			}
			if err := putInbox(tx.Tx, &item); err != nil {
				return err
			}
			res.Accepted = append(res.Accepted, item)
			queued = append(queued, item)
		}
		if len(touched) > 0 || len(queued) > 0 {
			tx.OnCommit(func() {
				for _, id := range touched {
					s.watchers.notify(id)
				}
				if len(queued) > 0 {
					s.feedInbox(queued)
				}
			})
		}
		return nil
	})
	if err != nil {
		return CommitResult{}, err
	}
	return res, nil
}

// markSeen records an event ID and reports whether it was already there.
func (s *Store) markSeen(tx *bolt.Tx, channel, id string, now time.Time) (bool, error) {
	key := refKey(channel, id)
	seen := appending(tx, bucketSeen)
	if seen.Get(key) != nil {
		return true, nil
	}
	// The entry holds its expiry, which PurgeSeen reads.
	return false, seen.Put(key, u64(uint64(now.Add(s.opts.SeenTTL).Unix())))
}

// visitorConversation finds the conversation for a visitor event or
// creates it. An existing conversation is written again only when the
// event brings a new user name; its context (reply tokens, message ids) is
// taken up by the engine when it processes the event, in the same write as
// the turn, so a message to a known visitor costs no rewrite here.
func (s *Store) visitorConversation(tx *Tx, channel string, e sdk.Event, now time.Time) (Conversation, error) {
	if e.Conversation == "" {
		return Conversation{}, fmt.Errorf("channel %s: event %s has no conversation reference", channel, e.ID)
	}
	if id := tx.Bucket(bucketConvRefs).Get(refKey(channel, e.Conversation)); id != nil {
		c, err := s.conversationAt(tx.Tx, string(id))
		if err != nil {
			return Conversation{}, err
		}
		tx.remember(&c)
		if e.User.ID == "" || e.User == c.User {
			return c, nil
		}
		c.User, c.UpdatedAt = e.User, now
		return c, tx.putConversation(&c)
	}
	c := Conversation{
		ID: NewID("c_"), Channel: channel, Ref: e.Conversation, User: e.User,
		Status: conversation.Status{State: conversation.Bot}, CreatedAt: now, UpdatedAt: now,
	}
	if len(e.Context) > 0 {
		c.Context = maps.Clone(e.Context)
	}
	return c, createConversation(tx, &c)
}

func putInbox(tx *bolt.Tx, item *InboxItem) error {
	b := appending(tx, bucketInbox)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	item.Seq = seq
	data, err := json.Marshal(item)
	if err != nil {
		return fmt.Errorf("encode inbox item %s: %w", item.Event.ID, err)
	}
	return b.Put(u64(seq), data)
}

// SettleFunc may take a visitor's event out of the inbox's way: it runs
// inside the transaction that records the event, on the store's writer,
// after the event's transcript line is written, and reports whether it
// handled the event there, its effects written in tx. A handled event is
// never put in the inbox (its Seq stays 0) and nothing is fed or signalled
// for it. Like any write, it may run more than once for one commit, so it
// must only touch tx and register its after-commit work with OnCommit.
// state is the conversation's state as the transaction found it, so most
// events can be turned down without reading the record again.
type SettleFunc func(tx *Tx, item InboxItem, state conversation.State) (bool, error)

// SettleAtIntake installs fn to be offered every new visitor event at
// intake; nil removes it.
func (s *Store) SettleAtIntake(fn SettleFunc) {
	if fn == nil {
		s.settle.Store(nil)
		return
	}
	s.settle.Store(&fn)
}

// InboxSequenceTx is the sequence number last given to an inbox item, as
// tx sees it (0 for an inbox never written).
func InboxSequenceTx(tx *Tx) uint64 { return tx.Bucket(bucketInbox).Sequence() }

// FeedInbox hands fn, from now on, the items of every commit that adds to
// the inbox, in sequence order, once the commit is durable; nil stops it.
// fn runs on the store's writer: it must be quick and must not write to
// the store. The items are also in the inbox, where [Store.Inbox] reads
// them, and InboxSignal fires after fn returns: the feed only spares its
// reader the read back.
func (s *Store) FeedInbox(fn func([]InboxItem)) {
	if fn == nil {
		s.inboxFeed.Store(nil)
		return
	}
	s.inboxFeed.Store(&fn)
}

// feedInbox tells the feed about committed items, then signals the inbox.
func (s *Store) feedInbox(items []InboxItem) {
	if fn := s.inboxFeed.Load(); fn != nil {
		(*fn)(items)
	}
	s.signalInbox()
}

func (s *Store) signalInbox() {
	select {
	case s.inboxSig <- struct{}{}:
	default:
	}
}

// InboxSignal receives a value after commits that add to the inbox.
func (s *Store) InboxSignal() <-chan struct{} { return s.inboxSig }

// Inbox returns up to limit inbox items with sequence numbers after after,
// oldest first.
func (s *Store) Inbox(after uint64, limit int) ([]InboxItem, error) {
	out, _, err := s.InboxThrough(after, limit)
	return out, err
}

// InboxThrough is Inbox, and also the sequence number last given to an
// inbox item as the same read saw it: when fewer than limit items come
// back, every item up to that number is either among them or gone.
func (s *Store) InboxThrough(after uint64, limit int) ([]InboxItem, uint64, error) {
	var out []InboxItem
	var last uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketInbox)
		last = b.Sequence()
		c := b.Cursor()
		for k, v := c.Seek(u64(after + 1)); k != nil; k, v = c.Next() {
			var item InboxItem
			if err := json.Unmarshal(v, &item); err != nil {
				return fmt.Errorf("decode inbox item %d: %w", readU64(k), err)
			}
			out = append(out, item)
			if limit > 0 && len(out) >= limit {
				break
			}
		}
		return nil
	})
	return out, last, err
}

// DeleteInbox removes a processed inbox item within a write transaction.
func DeleteInbox(tx *Tx, seq uint64) error {
	return tx.Bucket(bucketInbox).Delete(u64(seq))
}

// seenScanChunk is how many dedup entries one transaction of PurgeSeen
// reads, so that it holds the store's writer only briefly.
const seenScanChunk = 10_000

// seenScanPerCall bounds the dedup entries one PurgeSeen reads (the
// Store's seenPerCall, which tests lower); the next call goes on from
// where it stopped, and the one after the last entry starts again from
// the first.
const seenScanPerCall = 1_000_000

// PurgeSeen forgets expired event IDs and returns how many. It reads the
// dedup entries in order, a chunk per transaction, up to seenScanPerCall
// of them, and goes on from there the next time: an entry is forgotten at
// the first call after its expiry that reaches it. (An index by expiry
// would find them without reading the others, at the price of one more
// page written by every commit that records an event.)
func (s *Store) PurgeSeen(ctx context.Context) (int, error) {
	now := uint64(s.opts.Now().Unix())
	s.seenMu.Lock()
	defer s.seenMu.Unlock()
	total := 0
	for read := 0; read < s.seenPerCall; {
		var next []byte
		n, scanned := 0, 0
		err := s.Update(ctx, func(tx *Tx) error {
			seen := tx.Bucket(bucketSeen)
			c := seen.Cursor()
			k, v := c.First()
			if s.seenFrom != nil {
				k, v = c.Seek(s.seenFrom)
			}
			// Collect first: deleting under a bbolt cursor can skip keys.
			var expired [][]byte
			for scanned = 0; k != nil && scanned < seenScanChunk; k, v = c.Next() {
				scanned++
				if len(v) == 8 && readU64(v) <= now {
					expired = append(expired, k)
				}
			}
			next = nil
			if k != nil {
				next = bytes.Clone(k)
			}
			for _, k := range expired {
				if err := seen.Delete(k); err != nil {
					return err
				}
			}
			n = len(expired)
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		read += scanned
		s.seenFrom = next
		if next == nil {
			break
		}
	}
	return total, nil
}
