package store

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// deliveryCountsBucket holds one record per UTC day: key "YYYY-MM-DD" (so
// keys sort by date), value two big-endian uint64s, delivered then dead
// letters. The bucket is created lazily by the first RecordDeliveryTx, so
// databases written before it existed need no migration and SchemaVersion
// stays 1.
const deliveryCountsBucket = "delivery_counts"

// dayLayout is the key format of deliveryCountsBucket.
const dayLayout = "2006-01-02"

// DeliveryCount is one UTC day's delivery outcomes.
type DeliveryCount struct {
	// Day is midnight UTC of the day.
	Day time.Time `json:"day"`
	// Delivered counts outbox entries sent successfully that day.
	Delivered int64 `json:"delivered"`
	// DeadLetters counts outbox entries moved to the dead letters that day.
	DeadLetters int64 `json:"dead_letters"`
}

// RecordDeliveryTx adds delivered and dead to the counters of day's UTC date
// inside a write transaction, so the counter commits atomically with the
// outbox change it counts. Call it with delivered=1 in the transaction that
// deletes a sent entry, and with dead=1 in the one that moves an entry to
// the dead letters.
func RecordDeliveryTx(tx *Tx, day time.Time, delivered, dead int) error {
	if delivered < 0 || dead < 0 {
		return fmt.Errorf("record deliveries: negative count (delivered %d, dead %d)", delivered, dead)
	}
	if delivered == 0 && dead == 0 {
		return nil
	}
	b, err := tx.CreateBucketIfNotExists([]byte(deliveryCountsBucket))
	if err != nil {
		return fmt.Errorf("record deliveries: create bucket %s: %w", deliveryCountsBucket, err)
	}
	key := []byte(day.UTC().Format(dayLayout))
	var have [16]byte
	if v := b.Get(key); v != nil {
		if len(v) != len(have) {
			return fmt.Errorf("record deliveries: counter of %s has %d bytes, want %d", key, len(v), len(have))
		}
		copy(have[:], v)
	}
	binary.BigEndian.PutUint64(have[0:8], binary.BigEndian.Uint64(have[0:8])+uint64(delivered))
	binary.BigEndian.PutUint64(have[8:16], binary.BigEndian.Uint64(have[8:16])+uint64(dead))
	if err := b.Put(key, have[:]); err != nil {
		return fmt.Errorf("record deliveries of %s: %w", key, err)
	}
	return nil
}

// DeliveryCounts returns the daily counters of the UTC days from from's date
// up to but excluding to (a to at midnight UTC excludes that day; any later
// time of day includes it), oldest first. Days without deliveries are left
// out.
func (s *Store) DeliveryCounts(from, to time.Time) ([]DeliveryCount, error) {
	first := from.UTC().Format(dayLayout)
	var out []DeliveryCount
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(deliveryCountsBucket))
		if b == nil {
			return nil // nothing recorded yet
		}
		c := b.Cursor()
		for k, v := c.Seek([]byte(first)); k != nil; k, v = c.Next() {
			day, err := time.Parse(dayLayout, string(k))
			if err != nil {
				return fmt.Errorf("delivery counter key %q: %w", k, err)
			}
			if !day.Before(to) {
				break
			}
			if len(v) != 16 {
				return fmt.Errorf("delivery counter of %s has %d bytes, want 16", k, len(v))
			}
			out = append(out, DeliveryCount{
				Day:         day,
				Delivered:   int64(binary.BigEndian.Uint64(v[0:8])),
				DeadLetters: int64(binary.BigEndian.Uint64(v[8:16])),
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read delivery counts: %w", err)
	}
	return out, nil
}

// DeliveryTotals sums DeliveryCounts over the same days.
func (s *Store) DeliveryTotals(from, to time.Time) (delivered, dead int64, err error) {
	counts, err := s.DeliveryCounts(from, to)
	if err != nil {
		return 0, 0, err
	}
	for _, c := range counts {
		delivered += c.Delivered
		dead += c.DeadLetters
	}
	return delivered, dead, nil
}
