package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Scopes of API keys and OAuth clients.
const (
	ScopeRead  = "conversations:read"
	ScopeWrite = "conversations:write"
	ScopeAdmin = "admin"
	// ScopeKBRead lists and searches the knowledge base and its gaps.
	ScopeKBRead = "kb:read"
	// ScopeKBWrite imports and removes knowledge-base documents.
	ScopeKBWrite = "kb:write"
	// ScopeTicketsRead lists and reads tickets.
	ScopeTicketsRead = "tickets:read"
	// ScopeTicketsWrite creates and changes tickets and comments on them.
	ScopeTicketsWrite = "tickets:write"
)

// Scopes lists the valid scopes.
var Scopes = []string{ScopeRead, ScopeWrite, ScopeAdmin, ScopeKBRead, ScopeKBWrite, ScopeTicketsRead, ScopeTicketsWrite}

// APIKey is a stored API key. Only the SHA-256 of the secret is kept.
type APIKey struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Hash   string   `json:"hash"` // hex SHA-256 of the secret
	Scopes []string `json:"scopes"`
	// AllowIPs are CIDRs the key may be used from; empty: anywhere.
	AllowIPs []string `json:"allow_ips,omitempty"`
	// Rate is the allowed requests per second; 0: unlimited.
	Rate      float64    `json:"rate,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// ErrExists is returned when a name is already taken.
var ErrExists = errors.New("already exists")

// HashKey returns the hex SHA-256 of a secret: an API key, an OAuth client
// secret or an access token. These secrets are 256 random bits, so a fast
// hash is enough: there is nothing to guess a preimage from.
func HashKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// NewKeySecret returns a new random API key secret ("sb_…").
func NewKeySecret() string { return newSecret("sb_") }

// newSecret returns prefix and 256 random bits, base64url-encoded. The
// prefix tells people and secret scanners what kind of secret it is.
func newSecret(prefix string) string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// CreateAPIKeyTx stores a new key; the name must be unused among keys that
// are not revoked.
func CreateAPIKeyTx(tx *Tx, k *APIKey) error {
	keys := tx.Bucket(bucketAPIKeys)
	err := keys.ForEach(func(_, v []byte) error {
		var other APIKey
		if err := json.Unmarshal(v, &other); err != nil {
			return err
		}
		if other.Name == k.Name && other.RevokedAt == nil {
			return fmt.Errorf("api key %q: %w", k.Name, ErrExists)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if k.ID == "" {
		k.ID = NewID("k_")
	}
	data, err := json.Marshal(k)
	if err != nil {
		return err
	}
	if err := keys.Put([]byte(k.ID), data); err != nil {
		return err
	}
	return tx.Bucket(bucketAPIKeyHashes).Put([]byte(k.Hash), []byte(k.ID))
}

// APIKeyByHash finds a key by the hash of its secret.
func (s *Store) APIKeyByHash(hash string) (APIKey, error) {
	var k APIKey
	err := s.db.View(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketAPIKeyHashes).Get([]byte(hash))
		if id == nil {
			return fmt.Errorf("api key: %w", ErrNotFound)
		}
		return json.Unmarshal(tx.Bucket(bucketAPIKeys).Get(id), &k)
	})
	return k, err
}

// APIKeys lists all keys, revoked ones included.
func (s *Store) APIKeys() ([]APIKey, error) {
	var out []APIKey
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAPIKeys).ForEach(func(_, v []byte) error {
			var k APIKey
			if err := json.Unmarshal(v, &k); err != nil {
				return err
			}
			out = append(out, k)
			return nil
		})
	})
	return out, err
}

// RevokeAPIKeyTx revokes the key with the given ID, or the active key with
// the given name.
func RevokeAPIKeyTx(tx *Tx, idOrName string, at time.Time) (APIKey, error) {
	keys := tx.Bucket(bucketAPIKeys)
	var found *APIKey
	err := keys.ForEach(func(_, v []byte) error {
		var k APIKey
		if err := json.Unmarshal(v, &k); err != nil {
			return err
		}
		if k.ID == idOrName || (k.Name == idOrName && k.RevokedAt == nil) {
			found = &k
		}
		return nil
	})
	if err != nil {
		return APIKey{}, err
	}
	if found == nil {
		return APIKey{}, fmt.Errorf("api key %q: %w", idOrName, ErrNotFound)
	}
	if found.RevokedAt == nil {
		found.RevokedAt = &at
	}
	data, err := json.Marshal(found)
	if err != nil {
		return APIKey{}, err
	}
	return *found, keys.Put([]byte(found.ID), data)
}

// CreateAPIKey is CreateAPIKeyTx in a transaction of its own.
func (s *Store) CreateAPIKey(ctx context.Context, k *APIKey) error {
	return s.Update(ctx, func(tx *Tx) error { return CreateAPIKeyTx(tx, k) })
}
