package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/switchboard-chat/switchboard/core/store"
)

// Paging of every list route: ?limit= (1 to maxLimit, default
// defaultLimit), ?cursor= (the next_cursor of the previous page) and
// ?order=asc|desc. An answer carries next_cursor while more entries
// remain. A cursor names the last entry a page showed, by a key that never
// changes, so entries added while a client pages never make it see another
// twice or skip one.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// Orders of a list.
const (
	orderAsc  = "asc"
	orderDesc = "desc"
)

// listPage is a list request's paging.
type listPage struct {
	store.Page
	// limit is the page's size; Page.Limit is one more, to tell whether
	// more remain.
	limit int
}

// pageParams reads ?limit=, ?cursor= and ?order= (defaultOrder when
// absent), answering 400 naming the parameter itself when one is bad.
func pageParams(w http.ResponseWriter, r *http.Request, defaultOrder string) (listPage, bool) {
	q := r.URL.Query()
	limit, ok := intParam(w, r, "limit", defaultLimit, maxLimit)
	if !ok {
		return listPage{}, false
	}
	order := defaultOrder
	if v, set := q["order"]; set {
		order = v[0]
		if order != orderAsc && order != orderDesc {
			writeError(w, http.StatusBadRequest, "bad_request", "order: must be asc or desc, got "+strconv.Quote(truncateParam(order)))
			return listPage{}, false
		}
	}
	p := listPage{Page: store.Page{Desc: order == orderDesc, Limit: limit + 1}, limit: limit}
	if v := q.Get("cursor"); v != "" {
		after, err := decodeCursor(v, order)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "cursor: "+err.Error())
			return listPage{}, false
		}
		p.After = after
	}
	return p, true
}

// cursorError is a cursor that cannot be used.
type cursorError string

func (e cursorError) Error() string { return string(e) }

// A cursor is base64url of the order's first letter and the last key.
func encodeCursor(desc bool, key []byte) string {
	o := byte('a')
	if desc {
		o = 'd'
	}
	return base64.RawURLEncoding.EncodeToString(append([]byte{o}, key...))
}

func decodeCursor(v, order string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) < 2 || (b[0] != 'a' && b[0] != 'd') {
		return nil, cursorError("not a cursor this API gave")
	}
	if (b[0] == 'd') != (order == orderDesc) {
		return nil, cursorError("made for the other order; keep the order a listing started with")
	}
	return b[1:], nil
}

// finish cuts a page fetched with p (one entry more than asked) to size
// and returns the cursor of what remains ("" when nothing does).
func finish[T any](p listPage, items []T, key func(T) []byte) ([]T, string) {
	if len(items) <= p.limit {
		return items, ""
	}
	items = items[:p.limit]
	return items, encodeCursor(p.Desc, key(items[len(items)-1]))
}

// pageOf pages a list held in memory: sorted by key in the page's order,
// past the cursor.
func pageOf[T any](p listPage, items []T, key func(T) []byte) ([]T, string) {
	items = slices.Clone(items)
	slices.SortStableFunc(items, func(a, b T) int {
		c := bytes.Compare(key(a), key(b))
		if p.Desc {
			return -c
		}
		return c
	})
	if p.After != nil {
		i := 0
		for i < len(items) {
			c := bytes.Compare(key(items[i]), p.After)
			if (!p.Desc && c > 0) || (p.Desc && c < 0) {
				break
			}
			i++
		}
		items = items[i:]
	}
	if len(items) > p.Limit {
		items = items[:p.Limit]
	}
	return finish(p, items, key)
}

// listBody is a list answer: the entries under name, and next_cursor
// while more remain.
func listBody(name string, entries any, next string) map[string]any {
	body := map[string]any{name: entries}
	if next != "" {
		body["next_cursor"] = next
	}
	return body
}

// timeKey orders by a time, then an id: the key of entries that have a
// creation time.
func timeKey(t time.Time, id string) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())^(1<<63))
	return append(k, id...)
}

// seqKey is the key of an entry numbered in order.
func seqKey(n uint64) []byte { return store.SeqCursor(n) }

// truncateParam cuts a query value quoted back in an error to a short
// prefix.
func truncateParam(v string) string {
	const max = 64
	if len(v) <= max {
		return v
	}
	return v[:max] + "…"
}
