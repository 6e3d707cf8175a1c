package store

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
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
