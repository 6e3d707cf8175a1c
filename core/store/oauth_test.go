package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func issue(t *testing.T, s *Store, clientID string, at time.Time, ttl time.Duration) string {
	t.Helper()
	token := NewAccessToken()
	err := s.Update(context.Background(), func(tx *Tx) error {
		return IssueAccessTokenTx(tx, HashKey(token), AccessToken{ClientID: clientID, Scopes: []string{ScopeRead}, IssuedAt: at, ExpiresAt: at.Add(ttl)})
	})
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func countBucket(t *testing.T, s *Store, name []byte) int {
	t.Helper()
	n := 0
	s.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(name).Stats().KeyN
		return nil
	})
	return n
}

// Clients and tokens are kept as hashes; a revoke deletes the client's
// tokens and leaves other clients' alone.
func TestOAuthClientsAndTokens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	secret := NewClientSecret()
	crm := &OAuthClient{Name: "crm", Hash: HashKey(secret), Scopes: []string{ScopeRead}, CreatedAt: time.Now()}
	if err := s.CreateOAuthClient(ctx, crm); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(crm.ID, "oc_") {
		t.Fatalf("client id %q", crm.ID)
	}
	if err := s.CreateOAuthClient(ctx, &OAuthClient{Name: "crm"}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate name: %v", err)
	}
	other := &OAuthClient{Name: "bi", Hash: HashKey(NewClientSecret()), Scopes: []string{ScopeRead}}
	if err := s.CreateOAuthClient(ctx, other); err != nil {
		t.Fatal(err)
	}
	got, err := s.OAuthClient(crm.ID)
	if err != nil || got.Name != "crm" || got.Hash != HashKey(secret) {
		t.Fatalf("lookup: %+v %v", got, err)
	}
	if _, err := s.OAuthClient("oc_nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown client: %v", err)
	}

	now := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	token := issue(t, s, crm.ID, now, time.Hour)
	otherToken := issue(t, s, other.ID, now, time.Hour)
	tok, client, err := s.AccessTokenByHash(HashKey(token))
	if err != nil || tok.ClientID != crm.ID || client.Name != "crm" || !tok.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("token lookup: %+v %+v %v", tok, client, err)
	}
	if _, _, err := s.AccessTokenByHash(HashKey("sbat_unknown")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}

	var revoked OAuthClient
	err = s.Update(ctx, func(tx *Tx) error {
		var err error
		revoked, err = RevokeOAuthClientTx(tx, "crm", now)
		return err
	})
	if err != nil || revoked.ID != crm.ID || revoked.RevokedAt == nil {
		t.Fatalf("revoke: %+v %v", revoked, err)
	}
	if _, _, err := s.AccessTokenByHash(HashKey(token)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("token of the revoked client: %v", err)
	}
	if _, _, err := s.AccessTokenByHash(HashKey(otherToken)); err != nil {
		t.Fatalf("token of another client: %v", err)
	}
	if n := countBucket(t, s, bucketOAuthTokenExpiry); n != 1 {
		t.Fatalf("%d expiry entries, want 1", n)
	}
	// The name is free again once its client is revoked.
	if err := s.CreateOAuthClient(ctx, &OAuthClient{Name: "crm", Hash: HashKey(NewClientSecret())}); err != nil {
		t.Fatalf("reuse of a revoked name: %v", err)
	}
	err = s.Update(ctx, func(tx *Tx) error {
		_, err := RevokeOAuthClientTx(tx, "oc_nope", now)
		return err
	})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoke of an unknown client: %v", err)
	}
	clients, err := s.OAuthClients()
	if err != nil || len(clients) != 3 {
		t.Fatalf("list: %d clients, %v", len(clients), err)
	}

	s.Close()
	raw, _ := os.ReadFile(path)
	for _, sec := range []string{secret, token, otherToken, strings.TrimPrefix(otherToken, "sbat_")} {
		if strings.Contains(string(raw), sec) {
			t.Fatal("the database file contains a secret")
		}
	}
}

// Issuing a token sheds tokens that have expired, a bounded number at a
// time, and keeps the ones still valid.
func TestIssuingPurgesExpiredTokens(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "switchboard.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	var old []string
	for i := range purgeBatch + 10 {
		old = append(old, issue(t, s, "oc_a", t0.Add(time.Duration(i)*time.Second), 10*time.Minute))
	}
	live := issue(t, s, "oc_a", t0, 3*time.Hour)
	if n := countBucket(t, s, bucketOAuthTokens); n != purgeBatch+11 {
		t.Fatalf("%d tokens before expiry", n)
	}

	// An hour later every old token has expired: one issue deletes
	// purgeBatch of them, the next the rest.
	later := t0.Add(time.Hour)
	issue(t, s, "oc_a", later, time.Minute)
	if n := countBucket(t, s, bucketOAuthTokens); n != 10+1+1 {
		t.Fatalf("%d tokens after one issue, want 12", n)
	}
	issue(t, s, "oc_a", later, time.Minute)
	if n := countBucket(t, s, bucketOAuthTokens); n != 1+2 {
		t.Fatalf("%d tokens after two issues, want 3", n)
	}
	for _, tok := range old {
		if _, _, err := s.AccessTokenByHash(HashKey(tok)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("an expired token is still stored: %v", err)
		}
	}
	if n := countBucket(t, s, bucketOAuthTokenExpiry); n != 3 {
		t.Fatalf("%d expiry entries, want 3", n)
	}
	s.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketOAuthTokens).Get([]byte(HashKey(live))) == nil {
			t.Error("a token still valid was purged")
		}
		return nil
	})
}
