package accounts

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/store"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newAccounts(t *testing.T) (*Accounts, *clock) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	return New(st, c.now), c
}

func TestPasswordHash(t *testing.T) {
	h := hashPassword("correct horse", defaultParams)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not an argon2id PHC string with the default costs", h)
	}
	if h == hashPassword("correct horse", defaultParams) {
		t.Error("two hashes of one password are equal: no salt")
	}
	cheap := hashPassword("correct horse", hashParams{memory: 64, time: 1, threads: 1, keyLen: 16})
	for _, tc := range []struct {
		hash, pw string
		want     bool
	}{
		{h, "correct horse", true},
		{h, "correct horsE", false},
		{h, "", false},
		{cheap, "correct horse", true}, // other costs still verify
		{strings.Replace(h, "argon2id", "argon2i", 1), "correct horse", false},
		{strings.Replace(h, "m=19456", "m=99999999", 1), "correct horse", false},
		{"", "correct horse", false},
		{"$argon2id$v=19$m=1,t=1,p=1$!!$!!", "x", false},
	} {
		if got := checkPassword(tc.hash, tc.pw); got != tc.want {
			t.Errorf("checkPassword(%.40q…, %q) = %v, want %v", tc.hash, tc.pw, got, tc.want)
		}
	}
}

func TestAddValidates(t *testing.T) {
	a, _ := newAccounts(t)
	ctx := context.Background()
	good := NewOperator{Email: " Ann@Example.com ", Name: "Ann", Role: RoleAgent, Password: "long enough pw"}
	op, err := a.Add(ctx, good, nil)
	if err != nil {
		t.Fatal(err)
	}
	if op.Email != "ann@example.com" || op.PasswordHash == "" || strings.Contains(op.PasswordHash, "long enough") {
		t.Fatalf("stored %+v", op)
	}
	for _, tc := range []struct {
		name   string
		change func(*NewOperator)
		want   error
	}{
		{"bad email", func(n *NewOperator) { n.Email = "not-an-email" }, ErrInvalid},
		{"email with a name", func(n *NewOperator) { n.Email = "Bob <bob@example.com>" }, ErrInvalid},
		{"no name", func(n *NewOperator) { n.Name = "  " }, ErrInvalid},
		{"bad role", func(n *NewOperator) { n.Role = "root" }, ErrInvalid},
		{"short password", func(n *NewOperator) { n.Password = "short" }, ErrInvalid},
		{"blank password", func(n *NewOperator) { n.Password = strings.Repeat(" ", 12) }, ErrInvalid},
		{"taken email", func(n *NewOperator) { n.Email = "ANN@example.com" }, store.ErrExists},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := good
			n.Email = "bob@example.com"
			tc.change(&n)
			if _, err := a.Add(ctx, n, nil); !errors.Is(err, tc.want) {
				t.Errorf("Add: %v, want %v", err, tc.want)
			}
		})
	}
	if list, _ := a.List(); len(list) != 1 {
		t.Errorf("%d accounts after refused adds, want 1", len(list))
	}
}

func TestSignInSessionsAndDisable(t *testing.T) {
	a, clk := newAccounts(t)
	ctx := context.Background()
	ann, err := a.Add(ctx, NewOperator{Email: "ann@example.com", Name: "Ann", Role: RoleAdmin, Password: "ann's password"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ email, pw string }{
		{"ann@example.com", "wrong password"},
		{"nobody@example.com", "ann's password"},
		{"", ""},
	} {
		if _, err := a.Authenticate(tc.email, tc.pw); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("Authenticate(%q, %q) = %v, want ErrBadCredentials", tc.email, tc.pw, err)
		}
	}
	op, err := a.Authenticate("ANN@example.com", "ann's password")
	if err != nil || op.ID != ann.ID {
		t.Fatalf("sign-in: %+v %v", op, err)
	}
	token, sess, err := a.StartSession(ctx, op, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !sess.ExpiresAt.Equal(clk.now().Add(time.Hour)) {
		t.Errorf("session expires %v", sess.ExpiresAt)
	}
	if got, _, err := a.Session(token); err != nil || got.ID != ann.ID {
		t.Fatalf("session: %+v %v", got, err)
	}
	if _, _, err := a.Session(token + "x"); !errors.Is(err, ErrNoSession) {
		t.Errorf("a wrong token: %v", err)
	}
	clk.add(time.Hour)
	if _, _, err := a.Session(token); !errors.Is(err, ErrNoSession) {
		t.Errorf("an expired session: %v", err)
	}

	token, _, _ = a.StartSession(ctx, op, time.Hour)
	if _, err := a.Disable(ctx, "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Session(token); !errors.Is(err, ErrNoSession) {
		t.Errorf("a disabled operator's session: %v", err)
	}
	if _, err := a.Authenticate("ann@example.com", "ann's password"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("a disabled operator signed in: %v", err)
	}
	if _, err := a.Enable(ctx, ann.ID); err != nil {
		t.Fatal(err)
	}
	token, _, _ = a.StartSession(ctx, op, time.Hour)
	if _, err := a.ResetPassword(ctx, ann.ID, "short"); !errors.Is(err, ErrInvalid) {
		t.Errorf("short new password: %v", err)
	}
	if _, err := a.ResetPassword(ctx, ann.ID, "a new password"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Session(token); !errors.Is(err, ErrNoSession) {
		t.Errorf("a session from before the password reset: %v", err)
	}
	if _, err := a.Authenticate("ann@example.com", "a new password"); err != nil {
		t.Errorf("sign-in with the new password: %v", err)
	}
	if _, err := a.Disable(ctx, "nobody@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("disabling an unknown account: %v", err)
	}
}

func TestSetupCreatesTheFirstAdminOnce(t *testing.T) {
	a, clk := newAccounts(t)
	ctx := context.Background()
	token, expires, ok, err := a.NewSetupToken(ctx)
	if err != nil || !ok || token == "" {
		t.Fatalf("setup token: %q %v %v", token, ok, err)
	}
	if !expires.Equal(clk.now().Add(SetupLinkLifetime)) {
		t.Errorf("expires %v", expires)
	}
	first := NewOperator{Email: "root@example.com", Name: "Root", Password: "first password", Role: RoleAgent}
	if _, err := a.Setup(ctx, "wrong", first, nil); !errors.Is(err, ErrSetupUsed) {
		t.Errorf("a wrong token: %v", err)
	}
	op, err := a.Setup(ctx, token, first, nil)
	if err != nil {
		t.Fatal(err)
	}
	if op.Role != RoleAdmin {
		t.Errorf("the first account is a %s, want an admin", op.Role)
	}
	second := first
	second.Email = "eve@example.com"
	if _, err := a.Setup(ctx, token, second, nil); !errors.Is(err, ErrSetupUsed) {
		t.Errorf("the token used twice: %v", err)
	}
	if _, _, ok, _ := a.NewSetupToken(ctx); ok {
		t.Error("a setup token was made while an account exists")
	}

	b, clk2 := newAccounts(t)
	late, _, _, _ := b.NewSetupToken(ctx)
	clk2.add(SetupLinkLifetime)
	if _, err := b.Setup(ctx, late, first, nil); !errors.Is(err, ErrSetupUsed) {
		t.Errorf("an expired token: %v", err)
	}
}
