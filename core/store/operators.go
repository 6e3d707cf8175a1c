package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Operator is a console account: a person who answers visitors. Only a
// hash of the password is kept (the accounts package makes and checks it).
type Operator struct {
	ID    string `json:"id"`
	Email string `json:"email"` // lower-case; unique
	Name  string `json:"name"`
	// Role is "agent" or "admin".
	Role         string    `json:"role"`
	PasswordHash string    `json:"password_hash"`
	Disabled     bool      `json:"disabled,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// OperatorSession is a signed-in console browser. It is stored under the
// SHA-256 of its token, so the database never holds a usable token.
type OperatorSession struct {
	OperatorID string    `json:"operator_id"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// setupToken is the one-time token that creates the first administrator.
type setupToken struct {
	Hash      string    `json:"hash"`
	ExpiresAt time.Time `json:"expires_at"`
}

var keySetupToken = []byte("setup_token")

func getOperator(tx *bolt.Tx, id string) (Operator, error) {
	data := tx.Bucket(bucketOperators).Get([]byte(id))
	if data == nil {
		return Operator{}, fmt.Errorf("operator %s: %w", id, ErrNotFound)
	}
	var op Operator
	if err := json.Unmarshal(data, &op); err != nil {
		return Operator{}, fmt.Errorf("decode operator %s: %w", id, err)
	}
	return op, nil
}

// findOperator finds an operator by id or (case-insensitive) email.
func findOperator(tx *bolt.Tx, idOrEmail string) (Operator, error) {
	if op, err := getOperator(tx, idOrEmail); err == nil {
		return op, nil
	}
	id := tx.Bucket(bucketOperatorEmails).Get([]byte(strings.ToLower(strings.TrimSpace(idOrEmail))))
	if id == nil {
		return Operator{}, fmt.Errorf("operator %q: %w", idOrEmail, ErrNotFound)
	}
	return getOperator(tx, string(id))
}

func putOperator(tx *bolt.Tx, op *Operator) error {
	data, err := json.Marshal(op)
	if err != nil {
		return fmt.Errorf("encode operator %s: %w", op.ID, err)
	}
	return tx.Bucket(bucketOperators).Put([]byte(op.ID), data)
}

// CreateOperatorTx stores a new operator; the email must be unused. The
// ID is assigned when empty.
func CreateOperatorTx(tx *Tx, op *Operator) error {
	op.Email = strings.ToLower(op.Email)
	emails := tx.Bucket(bucketOperatorEmails)
	if emails.Get([]byte(op.Email)) != nil {
		return fmt.Errorf("operator %s: %w", op.Email, ErrExists)
	}
	if op.ID == "" {
		op.ID = NewID("op_")
	}
	if err := putOperator(tx.Tx, op); err != nil {
		return err
	}
	return emails.Put([]byte(op.Email), []byte(op.ID))
}

// UpdateOperatorTx changes the stored operator found by id or email with
// change and stores it; the email cannot change.
func UpdateOperatorTx(tx *Tx, idOrEmail string, change func(*Operator) error) (Operator, error) {
	op, err := findOperator(tx.Tx, idOrEmail)
	if err != nil {
		return Operator{}, err
	}
	email := op.Email
	if err := change(&op); err != nil {
		return Operator{}, err
	}
	op.Email = email
	return op, putOperator(tx.Tx, &op)
}

// FindOperatorTx finds an operator by id or email inside a write
// transaction.
func FindOperatorTx(tx *Tx, idOrEmail string) (Operator, error) {
	return findOperator(tx.Tx, idOrEmail)
}

// Operator returns the operator with the given id or email.
func (s *Store) Operator(idOrEmail string) (Operator, error) {
	var op Operator
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		op, err = findOperator(tx, idOrEmail)
		return err
	})
	return op, err
}

// Operators lists every operator, disabled ones included, in creation
// order.
func (s *Store) Operators() ([]Operator, error) {
	var out []Operator
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOperators).ForEach(func(k, v []byte) error {
			var op Operator
			if err := json.Unmarshal(v, &op); err != nil {
				return fmt.Errorf("decode operator %s: %w", k, err)
			}
			out = append(out, op)
			return nil
		})
	})
	return out, err
}

// CountOperatorsTx is the number of operator accounts, disabled ones
// included.
func CountOperatorsTx(tx *Tx) int { return tx.Bucket(bucketOperators).Stats().KeyN }

// HasOperators reports whether any operator account exists.
func (s *Store) HasOperators() (bool, error) {
	var any bool
	err := s.db.View(func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bucketOperators).Cursor().First()
		any = k != nil
		return nil
	})
	return any, err
}

// sessionKey is a session's key: the operator's id, NUL, the token hash,
// so an operator's sessions are found (and ended) by prefix.
func sessionKey(operatorID, hash string) []byte {
	return []byte(operatorID + "\x00" + hash)
}

// PutSessionTx stores a session under the hash of its token.
func PutSessionTx(tx *Tx, hash string, sess OperatorSession) error {
	data, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketOperatorSessions).Put([]byte(hash), data); err != nil {
		return err
	}
	return tx.Bucket(bucketOperatorSessionsBy).Put(sessionKey(sess.OperatorID, hash), nil)
}

// Session returns the session stored under the hash of a token.
func (s *Store) Session(hash string) (OperatorSession, error) {
	var sess OperatorSession
	err := s.db.View(func(tx *bolt.Tx) error {
		data := tx.Bucket(bucketOperatorSessions).Get([]byte(hash))
		if data == nil {
			return fmt.Errorf("session: %w", ErrNotFound)
		}
		return json.Unmarshal(data, &sess)
	})
	return sess, err
}

// DeleteSessionTx ends one session; ending an unknown one is no error.
func DeleteSessionTx(tx *Tx, hash string) error {
	b := tx.Bucket(bucketOperatorSessions)
	data := b.Get([]byte(hash))
	if data == nil {
		return nil
	}
	var sess OperatorSession
	if err := json.Unmarshal(data, &sess); err != nil {
		return err
	}
	if err := tx.Bucket(bucketOperatorSessionsBy).Delete(sessionKey(sess.OperatorID, hash)); err != nil {
		return err
	}
	return b.Delete([]byte(hash))
}

// DeleteSessionsOfTx ends every session of an operator and returns how
// many there were.
func DeleteSessionsOfTx(tx *Tx, operatorID string) (int, error) {
	prefix := []byte(operatorID + "\x00")
	var hashes [][]byte
	c := tx.Bucket(bucketOperatorSessionsBy).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		hashes = append(hashes, bytes.Clone(k[len(prefix):]))
	}
	for _, h := range hashes {
		if err := DeleteSessionTx(tx, string(h)); err != nil {
			return 0, err
		}
	}
	return len(hashes), nil
}

// PurgeSessions deletes the sessions that expired before now and returns
// how many.
func (s *Store) PurgeSessions(ctx context.Context, now time.Time) (int, error) {
	var expired []string
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOperatorSessions).ForEach(func(k, v []byte) error {
			var sess OperatorSession
			if err := json.Unmarshal(v, &sess); err != nil || !sess.ExpiresAt.After(now) {
				expired = append(expired, string(k))
			}
			return nil
		})
	})
	if err != nil || len(expired) == 0 {
		return 0, err
	}
	err = s.Update(ctx, func(tx *Tx) error {
		for _, h := range expired {
			if err := DeleteSessionTx(tx, h); err != nil {
				return err
			}
		}
		return nil
	})
	return len(expired), err
}

// PutSetupTokenTx replaces the one-time setup token with the given hash.
func PutSetupTokenTx(tx *Tx, hash string, expires time.Time) error {
	data, err := json.Marshal(setupToken{Hash: hash, ExpiresAt: expires})
	if err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put(keySetupToken, data)
}

// TakeSetupTokenTx consumes the setup token if hash is its hash and it has
// not expired at now; it reports whether it did. A used or expired token
// is gone either way.
func TakeSetupTokenTx(tx *Tx, hash string, now time.Time) (bool, error) {
	meta := tx.Bucket(bucketMeta)
	data := meta.Get(keySetupToken)
	if data == nil {
		return false, nil
	}
	var t setupToken
	if err := json.Unmarshal(data, &t); err != nil {
		return false, err
	}
	expired := !t.ExpiresAt.After(now)
	if t.Hash != hash && !expired {
		return false, nil
	}
	if err := meta.Delete(keySetupToken); err != nil {
		return false, err
	}
	return t.Hash == hash && !expired, nil
}

// CannedReply is a saved answer operators insert by its shortcut.
type CannedReply struct {
	ID        string    `json:"id"`
	Shortcut  string    `json:"shortcut"`
	Text      string    `json:"text"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// CannedReplies lists the saved replies in shortcut order.
func (s *Store) CannedReplies() ([]CannedReply, error) {
	var out []CannedReply
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = cannedReplies(tx)
		return err
	})
	return out, err
}

func cannedReplies(tx *bolt.Tx) ([]CannedReply, error) {
	var out []CannedReply
	err := tx.Bucket(bucketCanned).ForEach(func(k, v []byte) error {
		var c CannedReply
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("decode canned reply %s: %w", k, err)
		}
		out = append(out, c)
		return nil
	})
	sortCanned(out)
	return out, err
}

func sortCanned(list []CannedReply) {
	slices.SortFunc(list, func(a, b CannedReply) int {
		return strings.Compare(strings.ToLower(a.Shortcut), strings.ToLower(b.Shortcut))
	})
}

// PutCannedReplyTx creates (empty ID) or replaces a saved reply; its
// shortcut must not be another reply's (ignoring case). Replacing an
// unknown ID is ErrNotFound.
func PutCannedReplyTx(tx *Tx, c *CannedReply) error {
	b := tx.Bucket(bucketCanned)
	all, err := cannedReplies(tx.Tx)
	if err != nil {
		return err
	}
	for _, other := range all {
		if other.ID != c.ID && strings.EqualFold(other.Shortcut, c.Shortcut) {
			return fmt.Errorf("shortcut %q: %w", c.Shortcut, ErrExists)
		}
	}
	if c.ID == "" {
		c.ID = NewID("cr_")
	} else if b.Get([]byte(c.ID)) == nil {
		return fmt.Errorf("canned reply %s: %w", c.ID, ErrNotFound)
	}
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return b.Put([]byte(c.ID), data)
}

// CannedReplyTx reads a saved reply inside a write transaction.
func CannedReplyTx(tx *Tx, id string) (CannedReply, error) {
	data := tx.Bucket(bucketCanned).Get([]byte(id))
	if data == nil {
		return CannedReply{}, fmt.Errorf("canned reply %s: %w", id, ErrNotFound)
	}
	var c CannedReply
	return c, json.Unmarshal(data, &c)
}

// DeleteCannedReplyTx deletes a saved reply; an unknown ID is ErrNotFound.
func DeleteCannedReplyTx(tx *Tx, id string) error {
	b := tx.Bucket(bucketCanned)
	if b.Get([]byte(id)) == nil {
		return fmt.Errorf("canned reply %s: %w", id, ErrNotFound)
	}
	return b.Delete([]byte(id))
}
