package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	bolt "go.etcd.io/bbolt"
)

// The knowledge base keeps its documents, chunks and index in one
// top-level bucket whose layout belongs to package kb, and the questions
// it could not answer (knowledge gaps) in a bucket of their own. Both are
// created on first write, so databases written before the knowledge base
// existed need no migration.
var (
	bucketKB     = []byte("kb")
	bucketKBGaps = []byte("kb_gaps")
)

// KBUpdate runs fn in a group-committed write transaction with the
// knowledge base's bucket, creating it on first use. As with Update, fn may
// run more than once and must only touch the bucket and variables it
// resets on each run. Everything fn writes commits together or not at all.
func (s *Store) KBUpdate(ctx context.Context, fn func(root *bolt.Bucket) error) error {
	return s.Update(ctx, func(tx *Tx) error {
		root, err := tx.CreateBucketIfNotExists(bucketKB)
		if err != nil {
			return fmt.Errorf("create bucket %s: %w", bucketKB, err)
		}
		return fn(root)
	})
}

// KBView runs fn in a read-only transaction with the knowledge base's
// bucket, which is nil while nothing was ever imported.
func (s *Store) KBView(fn func(root *bolt.Bucket) error) error {
	return s.db.View(func(tx *bolt.Tx) error { return fn(tx.Bucket(bucketKB)) })
}

// Reasons a question becomes a knowledge gap.
const (
	// GapLowScore: no entry matched the question well enough to answer it.
	GapLowScore = "low_score"
	// GapHandoff: the conversation went to a human after the question.
	GapHandoff = "handoff"
)

// maxKBGaps bounds how many distinct questions are kept; past it the one
// seen longest ago makes room.
const maxKBGaps = 5000

// MaxGapQuestion is how many characters of a question a knowledge gap
// keeps to tell it from others.
const MaxGapQuestion = 500

// KBGap is a visitor question the knowledge base did not answer, with how
// often it was asked.
type KBGap struct {
	// Question is the question as it was last asked.
	Question string `json:"question"`
	// Count is how many times it was asked (compared without case,
	// surrounding punctuation or repeated spaces).
	Count int `json:"count"`
	// Reasons counts the occurrences by reason (GapLowScore, GapHandoff).
	Reasons map[string]int `json:"reasons"`
	// Score is the best entry's score the last time it was asked.
	Score float64 `json:"score"`
	// FirstSeen and LastSeen bound when it was asked.
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// gapKey folds the differences between two askings of one question.
func gapKey(q string) string {
	q = strings.ToLower(strings.Join(strings.Fields(q), " "))
	q = strings.TrimFunc(q, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) })
	if r := []rune(q); len(r) > MaxGapQuestion {
		q = string(r[:MaxGapQuestion])
	}
	return q
}

// RecordKBGap counts one asking of a question the knowledge base could not
// answer, for the reason given (GapLowScore or GapHandoff), with the best
// entry's score. Empty questions are ignored.
func (s *Store) RecordKBGap(ctx context.Context, question, reason string, score float64) error {
	return s.Update(ctx, func(tx *Tx) error { return RecordKBGapTx(tx, question, reason, score) })
}

// RecordKBGapTx is RecordKBGap inside a write: the engine counts the gap in
// the commit of the turn that found it. A stored gap that cannot be read
// is counted afresh rather than failing the write.
func RecordKBGapTx(tx *Tx, question, reason string, score float64) error {
	key := gapKey(question)
	if key == "" {
		return nil
	}
	now := tx.st.opts.Now().UTC()
	b, err := tx.CreateBucketIfNotExists(bucketKBGaps)
	if err != nil {
		return err
	}
	g := KBGap{FirstSeen: now}
	if v := b.Get([]byte(key)); v != nil {
		if json.Unmarshal(v, &g) != nil {
			g = KBGap{FirstSeen: now}
		}
	} else if b.Stats().KeyN >= maxKBGaps {
		if err := evictOldestGap(b); err != nil {
			return err
		}
	}
	if g.Reasons == nil {
		g.Reasons = map[string]int{}
	}
	g.Question = strings.TrimSpace(question)
	g.Count++
	g.Reasons[reason]++
	g.Score = score
	g.LastSeen = now
	data, err := json.Marshal(g)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), data)
}

func evictOldestGap(b *bolt.Bucket) error {
	var oldest []byte
	var at time.Time
	err := b.ForEach(func(k, v []byte) error {
		var g KBGap
		if err := json.Unmarshal(v, &g); err != nil {
			return err
		}
		if oldest == nil || g.LastSeen.Before(at) {
			oldest, at = slices.Clone(k), g.LastSeen
		}
		return nil
	})
	if err != nil || oldest == nil {
		return err
	}
	return b.Delete(oldest)
}

// DeleteKBGap forgets a knowledge gap, found by its question as any of
// its askings put it; false when there is none.
func (s *Store) DeleteKBGap(ctx context.Context, question string) (bool, error) {
	key := gapKey(question)
	found := false
	err := s.Update(ctx, func(tx *Tx) error {
		b := tx.Bucket(bucketKBGaps)
		if key == "" || b == nil || b.Get([]byte(key)) == nil {
			return nil
		}
		found = true
		return b.Delete([]byte(key))
	})
	return found, err
}

// KBGaps lists up to limit knowledge gaps (all when limit <= 0), the most
// asked first, then the most recent.
func (s *Store) KBGaps(limit int) ([]KBGap, error) {
	var out []KBGap
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKBGaps)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var g KBGap
			if err := json.Unmarshal(v, &g); err != nil {
				return fmt.Errorf("decode knowledge gap %q: %w", k, err)
			}
			out = append(out, g)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b KBGap) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), b.LastSeen.Compare(a.LastSeen), cmp.Compare(a.Question, b.Question))
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, err
}
