package store

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/switchboard-chat/switchboard/sdk"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

func TestAPIKeysStoreOnlyHashes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	secret := NewKeySecret()
	k := &APIKey{Name: "crm", Hash: HashKey(secret), Scopes: []string{ScopeRead}, CreatedAt: time.Now()}
	if err := s.CreateAPIKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAPIKey(context.Background(), &APIKey{Name: "crm", Hash: HashKey("other")}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate name: %v", err)
	}
	got, err := s.APIKeyByHash(HashKey(secret))
	if err != nil || got.Name != "crm" {
		t.Fatalf("lookup: %+v %v", got, err)
	}
	if err := s.Update(context.Background(), func(tx *Tx) error {
		_, err := RevokeAPIKeyTx(tx, "crm", time.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.APIKeyByHash(HashKey(secret)); got.RevokedAt == nil {
		t.Fatal("revoked key not marked")
	}
	s.Close()
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), secret) || strings.Contains(string(raw), strings.TrimPrefix(secret, "sb_")) {
		t.Fatal("the database file contains the key secret")
	}
}

func writeAudit(t *testing.T, s *Store, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		err := s.Update(context.Background(), func(tx *Tx) error {
			_, err := AppendAuditTx(tx, AuditEntry{Time: time.Now(), Actor: "admin", Action: "apikey.create", Target: "k" + string(rune('a'+i)), Result: "ok"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestAuditChainDetectsTampering(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(b *bolt.Bucket)
		want   string
	}{
		{"intact", func(*bolt.Bucket) {}, ""},
		{"edited entry", func(b *bolt.Bucket) {
			var e AuditEntry
			json.Unmarshal(b.Get(u64(3)), &e)
			e.Actor = "someone-else"
			data, _ := json.Marshal(e)
			b.Put(u64(3), data)
		}, "audit entry 3"},
		{"deleted entry", func(b *bolt.Bucket) { b.Delete(u64(2)) }, "entry 3 does not follow"},
		{"deleted last entry", func(b *bolt.Bucket) { b.Delete(u64(5)) }, "deleted from the end"},
		{"edited and rehashed", func(b *bolt.Bucket) {
			var e AuditEntry
			json.Unmarshal(b.Get(u64(2)), &e)
			e.Result = "denied"
			e.Hash = entryHash(e)
			data, _ := json.Marshal(e)
			b.Put(u64(2), data)
		}, "entry 3 does not follow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "switchboard.db")
			s, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			writeAudit(t, s, 5)
			s.Close()

			// Tamper with the file as an attacker with disk access would.
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			db.Update(func(tx *bolt.Tx) error { tt.tamper(tx.Bucket(bucketAudit)); return nil })
			db.Close()

			s, err = Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			n, err := s.VerifyAudit()
			if tt.want == "" {
				if err != nil || n != 5 {
					t.Fatalf("intact log: %d entries, %v", n, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("verify: %v, want an error naming %q", err, tt.want)
			}
		})
	}
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "switchboard.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	res, _ := s.CommitEvents(ctx, "tg", []sdk.Event{msg("1", "chat", "keep me")})
	writeAudit(t, s, 2)

	backup := filepath.Join(dir, "backup.db")
	f, _ := os.Create(backup)
	if _, err := s.Backup(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// Writes after the backup are not in it.
	s.CommitEvents(ctx, "tg", []sdk.Event{msg("2", "chat", "later")})

	restored, err := Open(backup, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	msgs, _ := restored.Messages(res.Accepted[0].ConversationID, 0, 0)
	if len(msgs) != 1 || msgs[0].Text != "keep me" {
		t.Fatalf("restored transcript %+v", msgs)
	}
	if n, err := restored.VerifyAudit(); err != nil || n != 2 {
		t.Fatalf("restored audit: %d %v", n, err)
	}
	if dup, _ := restored.CommitEvents(ctx, "tg", []sdk.Event{msg("1", "chat", "keep me")}); dup.Duplicates != 1 {
		t.Fatal("the restored database forgot seen event IDs")
	}
}

func TestDeadLetterRetryAndDrop(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	conv, _ := s.CreateConversation(ctx, Conversation{Channel: "tg", Ref: "1"})
	var seqs []uint64
	for i := 0; i < 2; i++ {
		s.Update(ctx, func(tx *Tx) error {
			e := OutboxEntry{ConversationID: conv.ID, Instance: "tg", Payload: SendText{Ref: "1", Text: "x"}, Attempts: 12}
			if err := PutOutboxTx(tx, &e); err != nil {
				return err
			}
			seqs = append(seqs, e.Seq)
			return DeadLetterTx(tx, &e, "gave up", time.Now())
		})
	}
	if dl, _ := s.DeadLetters(); len(dl) != 2 {
		t.Fatalf("%d dead letters", len(dl))
	}
	var retried OutboxEntry
	if err := s.Update(ctx, func(tx *Tx) error {
		var err error
		retried, err = RetryDeadLetterTx(tx, seqs[0], time.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if retried.Attempts != 0 || retried.Seq != seqs[0] {
		t.Errorf("retried entry %+v", retried)
	}
	if err := s.Update(ctx, func(tx *Tx) error { return DropDeadLetterTx(tx, seqs[1]) }); err != nil {
		t.Fatal(err)
	}
	err := s.Update(ctx, func(tx *Tx) error { return DropDeadLetterTx(tx, seqs[1]) })
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("dropping twice: %v", err)
	}
	out, _ := s.Outbox()
	dl, _ := s.DeadLetters()
	if len(out) != 1 || len(dl) != 0 {
		t.Fatalf("outbox %d, dead letters %d", len(out), len(dl))
	}
}

func TestRetentionKeepsRecentMessagesAndDeliveries(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	s := openTest(t, Options{Now: func() time.Time { return now }})
	ctx := context.Background()
	old := msg("old", "chat", "old text")
	old.Time = now.Add(-100 * 24 * time.Hour)
	res, _ := s.CommitEvents(ctx, "tg", []sdk.Event{old, msg("new", "chat", "new text")})
	convID := res.Accepted[0].ConversationID
	s.Update(ctx, func(tx *Tx) error {
		e := OutboxEntry{ConversationID: convID, Instance: "tg", Payload: SendText{Ref: "chat", Text: "pending"}, CreatedAt: now.Add(-200 * 24 * time.Hour)}
		return PutOutboxTx(tx, &e)
	})
	n, err := s.PurgeTranscripts(ctx, now.Add(-90*24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("purged %d (%v), want 1", n, err)
	}
	msgs, _ := s.Messages(convID, 0, 0)
	if len(msgs) != 1 || msgs[0].Text != "new text" {
		t.Fatalf("left %+v", msgs)
	}
	if out, _ := s.Outbox(); len(out) != 1 {
		t.Fatal("retention removed a pending delivery")
	}
	// The conversation's events go on numbering after its old lines went.
	if _, err := s.AppendMessage(ctx, Message{ConversationID: convID, Role: conversation.RoleBot, Text: "later"}); err != nil {
		t.Fatal(err)
	}
	logged, _, err := s.EventsAfter(0, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, e := range logged {
		if e.ConversationID == convID {
			seqs = append(seqs, e.ConversationSeq)
		}
	}
	for i, n := range seqs {
		if n != uint64(i+1) {
			t.Fatalf("the conversation's events are numbered %v", seqs)
		}
	}
}
