// Package accounts manages the console's operator accounts: passwords
// (hashed with argon2id), sign-in sessions (stored by the hash of their
// token, so a restart keeps them and the database holds no usable token)
// and the one-time setup token that creates the first administrator.
package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-chat/switchboard/core/store"
)

// Roles of operators.
const (
	// RoleAgent answers visitors.
	RoleAgent = "agent"
	// RoleAdmin also acts on conversations other operators hold.
	RoleAdmin = "admin"
)

// Roles lists the valid roles.
var Roles = []string{RoleAgent, RoleAdmin}

// Password length limits, in characters.
const (
	MinPassword = 10
	MaxPassword = 256
)

// SetupLinkLifetime is how long the first-start setup link works.
const SetupLinkLifetime = 24 * time.Hour

// Errors of this package; store.ErrNotFound and store.ErrExists are
// returned for unknown and duplicate accounts.
var (
	// ErrInvalid wraps a description of bad input (an email, a role, a
	// short password).
	ErrInvalid = errors.New("invalid")
	// ErrBadCredentials is a sign-in with an unknown email, a wrong
	// password or a disabled account: the caller cannot tell which.
	ErrBadCredentials = errors.New("wrong email or password")
	// ErrNoSession is a token that is unknown, expired, or belongs to a
	// disabled account.
	ErrNoSession = errors.New("not signed in, or the session expired")
	// ErrSetupUsed is a setup token that is wrong, used or expired.
	ErrSetupUsed = errors.New("the setup link is invalid, expired or was already used")
)

// Accounts manages operator accounts in the store.
type Accounts struct {
	st    *store.Store
	now   func() time.Time
	dummy string // a hash checked for unknown emails, so they take as long
}

// New returns the accounts of st; now is the clock.
func New(st *store.Store, now func() time.Time) *Accounts {
	return &Accounts{st: st, now: now, dummy: hashPassword("not a password of anyone", defaultParams)}
}

// NewOperator is what it takes to create an account.
type NewOperator struct {
	Email    string
	Name     string
	Role     string
	Password string
}

// validate normalises n and explains what is wrong with it.
func (n *NewOperator) validate() error {
	n.Email = strings.ToLower(strings.TrimSpace(n.Email))
	n.Name = strings.TrimSpace(n.Name)
	if err := checkEmail(n.Email); err != nil {
		return err
	}
	if n.Name == "" || utf8.RuneCountInString(n.Name) > 100 {
		return fmt.Errorf("%w: the name is required, up to 100 characters", ErrInvalid)
	}
	if !slices.Contains(Roles, n.Role) {
		return fmt.Errorf("%w: unknown role %q; one of %s", ErrInvalid, n.Role, strings.Join(Roles, ", "))
	}
	return CheckPassword(n.Password)
}

func checkEmail(email string) error {
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" {
		return fmt.Errorf("%w: %q is not an email address", ErrInvalid, email)
	}
	return nil
}

// CheckPassword explains why a password is not acceptable, or returns nil.
func CheckPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < MinPassword || n > MaxPassword {
		return fmt.Errorf("%w: the password must have %d to %d characters", ErrInvalid, MinPassword, MaxPassword)
	}
	if strings.TrimSpace(pw) == "" {
		return fmt.Errorf("%w: the password must not be blank", ErrInvalid)
	}
	return nil
}

// Add creates an account. audit, if not nil, runs in the same transaction.
func (a *Accounts) Add(ctx context.Context, n NewOperator, audit func(tx *store.Tx, op store.Operator) error) (store.Operator, error) {
	if err := n.validate(); err != nil {
		return store.Operator{}, err
	}
	now := a.now().UTC()
	op := store.Operator{Email: n.Email, Name: n.Name, Role: n.Role, PasswordHash: hashPassword(n.Password, defaultParams), CreatedAt: now, UpdatedAt: now}
	err := a.st.Update(ctx, func(tx *store.Tx) error {
		fresh := op
		if err := store.CreateOperatorTx(tx, &fresh); err != nil {
			return err
		}
		if audit != nil {
			if err := audit(tx, fresh); err != nil {
				return err
			}
		}
		op = fresh
		return nil
	})
	if err != nil {
		return store.Operator{}, err
	}
	return op, nil
}

// List returns every account, disabled ones included.
func (a *Accounts) List() ([]store.Operator, error) { return a.st.Operators() }

// Get returns the account with an id or email.
func (a *Accounts) Get(idOrEmail string) (store.Operator, error) { return a.st.Operator(idOrEmail) }

// Disable disables an account and ends its sessions.
func (a *Accounts) Disable(ctx context.Context, idOrEmail string) (store.Operator, error) {
	return a.update(ctx, idOrEmail, func(op *store.Operator) error {
		op.Disabled = true
		return nil
	})
}

// Enable enables a disabled account again.
func (a *Accounts) Enable(ctx context.Context, idOrEmail string) (store.Operator, error) {
	return a.update(ctx, idOrEmail, func(op *store.Operator) error {
		op.Disabled = false
		return nil
	})
}

// ResetPassword sets a new password and ends the account's sessions.
func (a *Accounts) ResetPassword(ctx context.Context, idOrEmail, password string) (store.Operator, error) {
	if err := CheckPassword(password); err != nil {
		return store.Operator{}, err
	}
	hash := hashPassword(password, defaultParams)
	return a.update(ctx, idOrEmail, func(op *store.Operator) error {
		op.PasswordHash = hash
		return nil
	})
}

// update changes an account and ends its sessions, in one transaction.
func (a *Accounts) update(ctx context.Context, idOrEmail string, change func(*store.Operator) error) (store.Operator, error) {
	var op store.Operator
	err := a.st.Update(ctx, func(tx *store.Tx) error {
		var err error
		op, err = store.UpdateOperatorTx(tx, idOrEmail, func(op *store.Operator) error {
			op.UpdatedAt = a.now().UTC()
			return change(op)
		})
		if err != nil {
			return err
		}
		_, err = store.DeleteSessionsOfTx(tx, op.ID)
		return err
	})
	return op, err
}

// Authenticate checks an email and password. Unknown emails, wrong
// passwords and disabled accounts all return ErrBadCredentials after the
// same work.
func (a *Accounts) Authenticate(email, password string) (store.Operator, error) {
	op, err := a.st.Operator(strings.ToLower(strings.TrimSpace(email)))
	if errors.Is(err, store.ErrNotFound) || email == "" {
		checkPassword(a.dummy, password)
		return store.Operator{}, ErrBadCredentials
	}
	if err != nil {
		return store.Operator{}, err
	}
	if !checkPassword(op.PasswordHash, password) || op.Disabled {
		return store.Operator{}, ErrBadCredentials
	}
	return op, nil
}

// newToken returns a random token and the hex SHA-256 it is stored under.
func newToken() (token, hash string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashToken(token)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// StartSession signs an operator in for lifetime and returns the session's
// token, which only the browser keeps.
func (a *Accounts) StartSession(ctx context.Context, op store.Operator, lifetime time.Duration) (string, store.OperatorSession, error) {
	token, hash := newToken()
	now := a.now().UTC()
	sess := store.OperatorSession{OperatorID: op.ID, CreatedAt: now, ExpiresAt: now.Add(lifetime)}
	err := a.st.Update(ctx, func(tx *store.Tx) error { return store.PutSessionTx(tx, hash, sess) })
	return token, sess, err
}

// Session returns the operator and session of a token, or ErrNoSession.
func (a *Accounts) Session(token string) (store.Operator, store.OperatorSession, error) {
	if token == "" {
		return store.Operator{}, store.OperatorSession{}, ErrNoSession
	}
	sess, err := a.st.Session(hashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return store.Operator{}, store.OperatorSession{}, ErrNoSession
	}
	if err != nil {
		return store.Operator{}, store.OperatorSession{}, err
	}
	if !a.now().Before(sess.ExpiresAt) {
		return store.Operator{}, store.OperatorSession{}, ErrNoSession
	}
	op, err := a.st.Operator(sess.OperatorID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && op.Disabled) {
		return store.Operator{}, store.OperatorSession{}, ErrNoSession
	}
	return op, sess, err
}

// EndSession signs a token out; an unknown token is no error.
func (a *Accounts) EndSession(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return a.st.Update(ctx, func(tx *store.Tx) error { return store.DeleteSessionTx(tx, hashToken(token)) })
}

// PurgeSessions deletes expired sessions.
func (a *Accounts) PurgeSessions(ctx context.Context) (int, error) {
	return a.st.PurgeSessions(ctx, a.now())
}

// NewSetupToken makes a setup token, replacing any earlier one, when no
// account exists yet; ok is false (and no token made) when one does.
func (a *Accounts) NewSetupToken(ctx context.Context) (token string, expires time.Time, ok bool, err error) {
	token, hash := newToken()
	expires = a.now().UTC().Add(SetupLinkLifetime)
	err = a.st.Update(ctx, func(tx *store.Tx) error {
		ok = store.CountOperatorsTx(tx) == 0
		if !ok {
			return nil
		}
		return store.PutSetupTokenTx(tx, hash, expires)
	})
	if err != nil || !ok {
		return "", time.Time{}, false, err
	}
	return token, expires, true, nil
}

// Setup creates the first administrator with a setup token, which is used
// up. audit, if not nil, runs in the same transaction.
func (a *Accounts) Setup(ctx context.Context, token string, n NewOperator, audit func(tx *store.Tx, op store.Operator) error) (store.Operator, error) {
	n.Role = RoleAdmin
	if err := n.validate(); err != nil {
		return store.Operator{}, err
	}
	now := a.now().UTC()
	op := store.Operator{Email: n.Email, Name: n.Name, Role: n.Role, PasswordHash: hashPassword(n.Password, defaultParams), CreatedAt: now, UpdatedAt: now}
	err := a.st.Update(ctx, func(tx *store.Tx) error {
		fresh := op
		ok, err := store.TakeSetupTokenTx(tx, hashToken(token), a.now())
		if err != nil {
			return err
		}
		if !ok || store.CountOperatorsTx(tx) > 0 {
			return ErrSetupUsed
		}
		if err := store.CreateOperatorTx(tx, &fresh); err != nil {
			return err
		}
		if audit != nil {
			if err := audit(tx, fresh); err != nil {
				return err
			}
		}
		op = fresh
		return nil
	})
	if err != nil {
		return store.Operator{}, err
	}
	return op, nil
}
