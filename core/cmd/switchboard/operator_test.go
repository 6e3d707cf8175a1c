package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/accounts"
	"github.com/switchboard-chat/switchboard/core/store"
)

// cli runs the switchboard command in-process against a config whose
// database is in dir.
type cli struct {
	t      *testing.T
	config string
	dir    string
}

func newCLI(t *testing.T) *cli {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	content := "[server]\ndata_dir = " + strconv.Quote(filepath.Join(dir, "data")) + "\n"
	if err := os.WriteFile(cfg, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return &cli{t: t, config: cfg, dir: dir}
}

func (c *cli) run(stdin string, args ...string) (code int, stdout, stderr string) {
	c.t.Helper()
	var out, errb bytes.Buffer
	args = append(args[:2:2], append([]string{"--config", c.config}, args[2:]...)...)
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestOperatorCommands(t *testing.T) {
	c := newCLI(t)
	for _, tc := range []struct {
		name     string
		stdin    string
		args     []string
		code     int
		contains string
	}{
		{"no password flag", "", []string{"operator", "add", "--email", "ann@example.com", "--name", "Ann"}, 2, "--password-stdin"},
		{"empty stdin", "", []string{"operator", "add", "--email", "ann@example.com", "--name", "Ann", "--password-stdin"}, 1, "no password"},
		{"short password", "short\n", []string{"operator", "add", "--email", "ann@example.com", "--name", "Ann", "--password-stdin"}, 1, "10 to 256 characters"},
		{"bad role", "a good password\n", []string{"operator", "add", "--email", "ann@example.com", "--name", "Ann", "--role", "boss", "--password-stdin"}, 1, "unknown role"},
		{"add", "a good password\n", []string{"operator", "add", "--email", "Ann@Example.com", "--name", "Ann", "--role", "admin", "--password-stdin"}, 0, "<ann@example.com> as admin"},
		{"add again", "a good password\n", []string{"operator", "add", "--email", "ann@example.com", "--name", "Ann", "--password-stdin"}, 1, "exists"},
		{"add an agent", "bob's password\n", []string{"operator", "add", "--email", "bob@example.com", "--name", "Bob", "--password-stdin"}, 0, "as agent"},
		{"list", "", []string{"operator", "list"}, 0, "bob@example.com\tBob\tagent\tactive"},
		{"disable unknown", "", []string{"operator", "disable", "nobody@example.com"}, 1, "no operator"},
		{"disable", "", []string{"operator", "disable", "bob@example.com"}, 0, "disabled"},
		{"listed as disabled", "", []string{"operator", "list"}, 0, "Bob\tagent\tdisabled"},
		{"reset password", "ann's new password\r\n", []string{"operator", "reset-password", "--password-stdin", "ann@example.com"}, 0, "sessions were ended"},
		{"unknown subcommand", "", []string{"operator", "promote", "x"}, 2, "unknown command"},
	} {
		code, out, errs := c.run(tc.stdin, tc.args...)
		if code != tc.code || !strings.Contains(out+errs, tc.contains) {
			t.Errorf("%s: exit %d, output %q %q; want exit %d and %q", tc.name, code, out, errs, tc.code, tc.contains)
		}
	}

	st, err := store.Open(filepath.Join(c.dir, "data", "switchboard.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a := accounts.New(st, time.Now)
	if _, err := a.Authenticate("ann@example.com", "ann's new password"); err != nil {
		t.Errorf("sign-in with the reset password: %v", err)
	}
	if _, err := a.Authenticate("bob@example.com", "bob's password"); err == nil {
		t.Error("a disabled operator signed in")
	}
	entries, _ := st.Audit(0, 0)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, " "); got != "operator.add operator.add operator.disable operator.password" {
		t.Errorf("audit log %q", got)
	}
}
