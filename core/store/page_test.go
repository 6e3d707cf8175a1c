package store

import (
	"math"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/sdk"
)

func TestScanPages(t *testing.T) {
	s := openTest(t, Options{})
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("page-test"))
		if err != nil {
			return err
		}
		// Two prefixes around the one scanned, so the scan must stop at
		// its edges in both directions.
		for _, k := range []string{"a\x00x", "b\x001", "b\x002", "b\x003", "b\x004", "c\x00x"} {
			if err := b.Put([]byte(k), nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    Page
		want []string
	}{
		{"all ascending", Page{}, []string{"1", "2", "3", "4"}},
		{"all descending", Page{Desc: true}, []string{"4", "3", "2", "1"}},
		{"first page", Page{Limit: 2}, []string{"1", "2"}},
		{"after a key", Page{After: []byte("2"), Limit: 2}, []string{"3", "4"}},
		{"after the last key", Page{After: []byte("4")}, nil},
		{"after a key that is gone", Page{After: []byte("25")}, []string{"3", "4"}},
		{"descending after a key", Page{After: []byte("3"), Desc: true}, []string{"2", "1"}},
		{"descending after the first key", Page{After: []byte("1"), Desc: true}, nil},
		{"descending after a key past the end", Page{After: []byte("9"), Desc: true, Limit: 1}, []string{"4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			err := s.db.View(func(tx *bolt.Tx) error {
				return scan(tx.Bucket([]byte("page-test")).Cursor(), []byte("b\x00"), tt.p, func(k, _ []byte) (bool, error) {
					got = append(got, string(k[2:]))
					return true, nil
				})
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMessagesAfterTheLastIDAreNone(t *testing.T) {
	s := openTest(t, Options{})
	res, err := s.CommitEvents(t.Context(), "tg", []sdk.Event{msg("e1", "chat-1", "hello")})
	if err != nil {
		t.Fatal(err)
	}
	convID := res.Accepted[0].ConversationID
	msgs, err := s.Messages(convID, math.MaxUint64, 10)
	if err != nil || len(msgs) != 0 {
		t.Errorf("messages after the largest id: %d, %v; want none", len(msgs), err)
	}
	entries, err := s.Audit(math.MaxUint64, 10)
	if err != nil || len(entries) != 0 {
		t.Errorf("audit entries after the largest number: %d, %v; want none", len(entries), err)
	}
}
