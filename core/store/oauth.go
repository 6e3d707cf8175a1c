package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// OAuthClient is a client of the OAuth 2.0 client credentials grant. It
// trades its ID and secret for short-lived access tokens, which carry its
// scopes, allowlist and rate like an API key. Only the SHA-256 of the
// secret is kept.
type OAuthClient struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Hash   string   `json:"hash"` // hex SHA-256 of the secret
	Scopes []string `json:"scopes"`
	// AllowIPs are CIDRs the client may get and use tokens from; empty:
	// anywhere.
	AllowIPs []string `json:"allow_ips,omitempty"`
	// Rate is the allowed requests per second with its tokens; 0: unlimited.
	Rate      float64    `json:"rate,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// AccessToken is an issued OAuth access token, stored under the SHA-256 of
// the token itself.
type AccessToken struct {
	ClientID string `json:"client_id"`
	// Scopes are the client's scopes or the narrower set it asked for.
	Scopes    []string  `json:"scopes"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// NewClientSecret returns a new random OAuth client secret ("sbcs_…").
func NewClientSecret() string { return newSecret("sbcs_") }

// NewAccessToken returns a new random OAuth access token ("sbat_…").
func NewAccessToken() string { return newSecret("sbat_") }

// purgeBatch bounds how many expired tokens one issue deletes: the store
// sheds expired tokens as fast as new ones arrive, without a sweeper and
// without a long transaction.
const purgeBatch = 64

// CreateOAuthClientTx stores a new client; the name must be unused among
// clients that are not revoked.
func CreateOAuthClientTx(tx *Tx, c *OAuthClient) error {
	clients := tx.Bucket(bucketOAuthClients)
	err := clients.ForEach(func(_, v []byte) error {
		var other OAuthClient
		if err := json.Unmarshal(v, &other); err != nil {
			return err
		}
		if other.Name == c.Name && other.RevokedAt == nil {
			return fmt.Errorf("oauth client %q: %w", c.Name, ErrExists)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if c.ID == "" {
		c.ID = NewID("oc_")
	}
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return clients.Put([]byte(c.ID), data)
}

// OAuthClient returns the client with the given ID, revoked or not. An
// unknown ID costs the same decoding as a known one (of a stand-in
// record), so the time of a token request does not tell which client IDs
// exist.
func (s *Store) OAuthClient(id string) (OAuthClient, error) {
	var c OAuthClient
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		c, err = getOAuthClient(tx, id)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		var standIn OAuthClient
		_ = json.Unmarshal([]byte(standInClient), &standIn)
	}
	return c, err
}

// standInClient is decoded in place of a client that does not exist.
const standInClient = `{"id":"oc_0194d3f2a1b2c3d4e5f6a7b8","name":"stand-in","hash":"0000000000000000000000000000000000000000000000000000000000000000",` +
	`"scopes":["conversations:read","conversations:write"],"created_at":"2025-01-01T00:00:00Z"}`

func getOAuthClient(tx *bolt.Tx, id string) (OAuthClient, error) {
	var c OAuthClient
	v := tx.Bucket(bucketOAuthClients).Get([]byte(id))
	if v == nil {
		return c, fmt.Errorf("oauth client %q: %w", id, ErrNotFound)
	}
	return c, json.Unmarshal(v, &c)
}

// OAuthClients lists all clients, revoked ones included.
func (s *Store) OAuthClients() ([]OAuthClient, error) {
	var out []OAuthClient
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOAuthClients).ForEach(func(_, v []byte) error {
			var c OAuthClient
			if err := json.Unmarshal(v, &c); err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	})
	return out, err
}

// RevokeOAuthClientTx revokes the client with the given ID, or the active
// client with the given name, and deletes its access tokens.
func RevokeOAuthClientTx(tx *Tx, idOrName string, at time.Time) (OAuthClient, error) {
	clients := tx.Bucket(bucketOAuthClients)
	var found *OAuthClient
	err := clients.ForEach(func(_, v []byte) error {
		var c OAuthClient
		if err := json.Unmarshal(v, &c); err != nil {
			return err
		}
		if c.ID == idOrName || (c.Name == idOrName && c.RevokedAt == nil) {
			found = &c
		}
		return nil
	})
	if err != nil {
		return OAuthClient{}, err
	}
	if found == nil {
		return OAuthClient{}, fmt.Errorf("oauth client %q: %w", idOrName, ErrNotFound)
	}
	if found.RevokedAt == nil {
		found.RevokedAt = &at
	}
	data, err := json.Marshal(found)
	if err != nil {
		return OAuthClient{}, err
	}
	if err := clients.Put([]byte(found.ID), data); err != nil {
		return OAuthClient{}, err
	}
	return *found, deleteClientTokens(tx.Tx, found.ID)
}

// deleteClientTokens deletes every access token of a client.
func deleteClientTokens(tx *bolt.Tx, clientID string) error {
	var doomed [][]byte
	err := tx.Bucket(bucketOAuthTokens).ForEach(func(k, v []byte) error {
		var t AccessToken
		if err := json.Unmarshal(v, &t); err != nil {
			return err
		}
		if t.ClientID == clientID {
			doomed = append(doomed, expiryKey(t.ExpiresAt, k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return deleteTokens(tx, doomed)
}

// IssueAccessTokenTx stores a token under the hash of its secret and
// deletes up to purgeBatch tokens that expired before t was issued.
func IssueAccessTokenTx(tx *Tx, hash string, t AccessToken) error {
	if err := purgeExpiredTokens(tx.Tx, t.IssuedAt, purgeBatch); err != nil {
		return err
	}
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketOAuthTokens).Put([]byte(hash), data); err != nil {
		return err
	}
	return appending(tx.Tx, bucketOAuthTokenExpiry).Put(expiryKey(t.ExpiresAt, []byte(hash)), nil)
}

// AccessTokenByHash finds a token by the hash of its secret, with its
// client. It does not judge them: the caller compares the expiry with its
// clock and looks at the client's revocation.
func (s *Store) AccessTokenByHash(hash string) (AccessToken, OAuthClient, error) {
	var t AccessToken
	var c OAuthClient
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketOAuthTokens).Get([]byte(hash))
		if v == nil {
			return fmt.Errorf("access token: %w", ErrNotFound)
		}
		if err := json.Unmarshal(v, &t); err != nil {
			return err
		}
		var err error
		c, err = getOAuthClient(tx, t.ClientID)
		return err
	})
	return t, c, err
}

// purgeExpiredTokens deletes up to limit tokens that expired before now,
// oldest first.
func purgeExpiredTokens(tx *bolt.Tx, now time.Time, limit int) error {
	c := tx.Bucket(bucketOAuthTokenExpiry).Cursor()
	end := u64(uint64(now.UnixNano()))
	var doomed [][]byte
	for k, _ := c.First(); k != nil && len(doomed) < limit && bytes.Compare(k[:8], end) < 0; k, _ = c.Next() {
		doomed = append(doomed, bytes.Clone(k))
	}
	return deleteTokens(tx, doomed)
}

// deleteTokens deletes the tokens with the given expiry keys.
func deleteTokens(tx *bolt.Tx, expiryKeys [][]byte) error {
	tokens, expiry := tx.Bucket(bucketOAuthTokens), tx.Bucket(bucketOAuthTokenExpiry)
	for _, k := range expiryKeys {
		if err := tokens.Delete(k[8:]); err != nil {
			return err
		}
		if err := expiry.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// expiryKey orders tokens by expiry: the big-endian Unix nanoseconds, then
// the token's hash.
func expiryKey(at time.Time, hash []byte) []byte {
	return append(u64(uint64(at.UnixNano())), hash...)
}

// CreateOAuthClient is CreateOAuthClientTx in a transaction of its own.
func (s *Store) CreateOAuthClient(ctx context.Context, c *OAuthClient) error {
	return s.Update(ctx, func(tx *Tx) error { return CreateOAuthClientTx(tx, c) })
}
