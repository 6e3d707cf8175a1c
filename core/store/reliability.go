package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// PossiblyDeliveredTx records a send whose outcome is unknown on a platform
// that does not deduplicate: it is not retried (that could send it twice),
// and it is removed from the outbox.
func PossiblyDeliveredTx(tx *Tx, e *OutboxEntry, cause string, at time.Time) error {
	data, err := encodeDeadLetter(DeadLetter{Entry: *e, Error: cause, FailedAt: at})
	if err != nil {
		return err
	}
	if err := appending(tx.Tx, bucketPossiblyDelivered).Put(u64(e.Seq), data); err != nil {
		return err
	}
	return tx.Bucket(bucketOutbox).Delete(u64(e.Seq))
}

// PossiblyDelivered counts the sends recorded as possibly delivered.
func (s *Store) PossiblyDelivered() (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketPossiblyDelivered).Stats().KeyN
		return nil
	})
	return n, err
}

// RetryDeadLetterTx moves a dead letter back to the outbox, to be tried
// again from scratch, and returns the queued entry.
func RetryDeadLetterTx(tx *Tx, seq uint64, now time.Time) (OutboxEntry, error) {
	b := tx.Bucket(bucketDeadLetters)
	data := b.Get(u64(seq))
	if data == nil {
		return OutboxEntry{}, fmt.Errorf("dead letter %d: %w", seq, ErrNotFound)
	}
	d, err := decodeDeadLetter(data)
	if err != nil {
		return OutboxEntry{}, fmt.Errorf("decode dead letter %d: %w", seq, err)
	}
	e := d.Entry
	e.Attempts, e.LastError, e.NextAttempt, e.CreatedAt = 0, "", now, now
	if err := putOutbox(tx.Tx, &e); err != nil {
		return OutboxEntry{}, err
	}
	return e, b.Delete(u64(seq))
}

// DropDeadLetterTx deletes a dead letter for good.
func DropDeadLetterTx(tx *Tx, seq uint64) error {
	b := tx.Bucket(bucketDeadLetters)
	if b.Get(u64(seq)) == nil {
		return fmt.Errorf("dead letter %d: %w", seq, ErrNotFound)
	}
	return b.Delete(u64(seq))
}

// ParseSeq parses a dead letter or outbox id ("o42" or "42").
func ParseSeq(id string) (uint64, error) {
	if len(id) > 0 && id[0] == 'o' {
		id = id[1:]
	}
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a delivery id", id)
	}
	return n, nil
}

// PurgeTranscripts deletes transcript messages older than before, a batch
// at a time, and returns how many it removed. Conversations, their state
// and pending deliveries stay.
func (s *Store) PurgeTranscripts(ctx context.Context, before time.Time) (int, error) {
	total := 0
	var from []byte // where the next batch starts scanning
	for {
		n := 0
		done := false
		err := s.Update(ctx, func(tx *Tx) error {
			var old [][]byte
			c := tx.Bucket(bucketMessages).Cursor()
			k, v := c.First()
			if from != nil {
				k, v = c.Seek(from)
			}
			scanned := 0
			for ; k != nil && len(old) < 1000 && scanned < 50000; k, v = c.Next() {
				scanned++
				if !isMessageKey(k) {
					// A conversation's event counter: it outlives its lines.
					continue
				}
				var m struct {
					CreatedAt time.Time `json:"created_at"`
				}
				if err := json.Unmarshal(v, &m); err != nil {
					return fmt.Errorf("decode message %x: %w", k, err)
				}
				if m.CreatedAt.Before(before) {
					old = append(old, bytes.Clone(k))
				}
			}
			if k == nil {
				done = true
			} else {
				from = bytes.Clone(k)
			}
			for _, k := range old {
				if err := tx.Bucket(bucketMessages).Delete(k); err != nil {
					return err
				}
			}
			n = len(old)
			return nil
		})
		total += n
		if err != nil || done {
			return total, err
		}
	}
}

// Backup writes a consistent copy of the whole database to w while the
// store stays in use (one read transaction).
func (s *Store) Backup(w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}
