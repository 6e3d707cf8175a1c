package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AuditEntry is one state-changing action. Entries form a hash chain: each
// stores the hash of the one before, so an edited or deleted entry is
// detected by VerifyAudit.
type AuditEntry struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"`
	Target   string    `json:"target,omitempty"`
	SourceIP string    `json:"source_ip,omitempty"`
	Result   string    `json:"result"`
	PrevHash string    `json:"prev_hash"`
	Hash     string    `json:"hash"`
}

// entryHash is the SHA-256 over the entry's fields and the previous hash.
func entryHash(e AuditEntry) string {
	e.Hash = ""
	data, _ := json.Marshal(e)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// AppendAuditTx appends an entry to the audit log inside a write
// transaction, chaining it to the last one.
func AppendAuditTx(tx *Tx, e AuditEntry) (AuditEntry, error) {
	b := appending(tx.Tx, bucketAudit)
	if _, last := b.Cursor().Last(); last != nil {
		var prev AuditEntry
		if err := json.Unmarshal(last, &prev); err != nil {
			return AuditEntry{}, fmt.Errorf("read last audit entry: %w", err)
		}
		e.PrevHash = prev.Hash
	}
	seq, err := b.NextSequence()
	if err != nil {
		return AuditEntry{}, err
	}
	e.Seq = seq
	e.Time = e.Time.UTC()
	e.Hash = entryHash(e)
	data, err := json.Marshal(e)
	if err != nil {
		return AuditEntry{}, err
	}
	return e, b.Put(u64(seq), data)
}

// Audit returns up to limit entries after seq after, oldest first.
func (s *Store) Audit(after uint64, limit int) ([]AuditEntry, error) {
	return s.AuditPage(Page{After: SeqCursor(after), Limit: limit})
}

// VerifyAudit walks the chain and returns the number of entries, or an
// error naming the first entry that was edited, inserted or follows a
// deleted one.
func (s *Store) VerifyAudit() (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		prevHash := ""
		var prevSeq uint64
		b := tx.Bucket(bucketAudit)
		err := b.ForEach(func(k, v []byte) error {
			var e AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("audit entry %d is unreadable: %w", readU64(k), err)
			}
			switch {
			case e.Seq != readU64(k):
				return fmt.Errorf("audit entry %d: stored under key %d (moved or edited)", e.Seq, readU64(k))
			case e.Hash != entryHash(e):
				return fmt.Errorf("audit entry %d (%s %s at %s) was edited: its hash does not match its content", e.Seq, e.Action, e.Target, e.Time.Format(time.RFC3339))
			case e.PrevHash != prevHash:
				return fmt.Errorf("audit entry %d does not follow entry %d: an entry before it was deleted or changed", e.Seq, prevSeq)
			case prevSeq != 0 && e.Seq != prevSeq+1:
				return fmt.Errorf("audit entries %d to %d are missing", prevSeq+1, e.Seq-1)
			}
			prevHash, prevSeq = e.Hash, e.Seq
			n++
			return nil
		})
		if err == nil && b.Sequence() > prevSeq {
			// The bucket's counter remembers entries that are gone.
			return fmt.Errorf("audit entries %d to %d were deleted from the end of the log", prevSeq+1, b.Sequence())
		}
		return err
	})
	return n, err
}
