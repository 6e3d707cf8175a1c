package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/config"
	"github.com/switchboard-chat/switchboard/core/store"
)

// writeConfig writes a config whose database lives in dir and returns its
// path.
func writeConfig(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "config.toml")
	cfg := fmt.Sprintf("[server]\ndata_dir = %q\n[plugins]\ndir = %q\n", filepath.Join(dir, "data"), filepath.Join(dir, "plugins"))
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The admin commands print what the API answers, every column filled:
// they run on the database file here, through the same handlers a running
// daemon serves.
func TestAdminCommandsPrintTheAPIAnswer(t *testing.T) {
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir)
	st, err := store.Open(filepath.Join(dir, "data", config.DBFileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	failedAt := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	err = st.Update(context.Background(), func(tx *store.Tx) error {
		e := &store.OutboxEntry{ConversationID: "conv-42", Instance: "tg", Payload: store.SendText{Text: "hello"}, Attempts: 3, CreatedAt: failedAt.Add(-time.Minute)}
		if err := store.PutOutboxTx(tx, e); err != nil {
			return err
		}
		return store.DeadLetterTx(tx, e, "permanent error: chat not found", failedAt)
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		args []string
		want *regexp.Regexp
	}{
		{"deadletter list", []string{"deadletter", "list", "--config", cfgPath},
			regexp.MustCompile(`(?m)^o1\tconv-42\ttg\ttext\tattempts=3\tfailed 2025-03-04T05:06:07Z\tpermanent error: chat not found\n$`)},
		{"apikey create", []string{"apikey", "create", "--config", cfgPath, "--name", "crm", "--scopes", "conversations:read,admin", "--allow-ip", "10.0.0.0/8", "--rate", "20/s"},
			regexp.MustCompile(`(?m)^sb_\S+\n\nkey k\S+ \(crm\) scopes conversations:read,admin from 10\.0\.0\.0/8 at 20/s\n`)},
		{"apikey list", []string{"apikey", "list", "--config", cfgPath},
			regexp.MustCompile(`(?m)^k\S+\tcrm\tconversations:read,admin\tallow=10\.0\.0\.0/8\trate=20/s\tcreated \d{4}-\d\d-\d\dT\S+\tactive\n$`)},
		{"audit verify", []string{"audit", "verify", "--config", cfgPath},
			regexp.MustCompile(`^audit log intact: 1 entries\n$`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(tt.args, strings.NewReader(""), &out, &errOut); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			if !tt.want.MatchString(out.String()) {
				t.Errorf("output %q does not match %s", out.String(), tt.want)
			}
		})
	}
}

// The setup commands' own mistakes are reported before any plugin runs.
func TestSetupRefusesWhatItCannotRun(t *testing.T) {
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir)
	withTelegram := filepath.Join(dir, "tg.toml")
	if err := os.WriteFile(withTelegram, []byte("[channels.siq]\nplugin = \"telegram\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no subcommand", []string{"salesiq"}, 2, "usage: switchboard salesiq setup --config F [--instance siq] --public-url"},
		{"unknown subcommand", []string{"salesiq", "teardown"}, 2, "usage: switchboard salesiq setup"},
		{"flag without value", []string{"salesiq", "setup", "--public-url", "https://x", "--config"}, 2, "flag needs an argument: --config"},
		{"missing config file", []string{"salesiq", "setup", "--config", filepath.Join(dir, "nope.toml"), "--public-url", "https://x"}, 1, "nope.toml"},
		{"no such instance", []string{"salesiq", "setup", "--config", cfgPath, "--public-url", "https://x"}, 1, "there is no [channels.siq]"},
		{"instance of another plugin", []string{"salesiq", "setup", "--config=" + withTelegram, "--public-url", "https://x"}, 1, `channels.siq.plugin is "telegram", not salesiq`},
		{"setup names no instance", []string{"setup", "--config", cfgPath}, 2, "--instance is required"},
		{"setup of an unknown instance", []string{"setup", "--config", cfgPath, "--instance", "tg"}, 1, "there is no [channels.tg]"},
		{"setup of a plugin not installed", []string{"setup", "--config", withTelegram, "--instance", "siq"}, 1, "telegram"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tt.args, strings.NewReader(""), &out, &errOut)
			if code != tt.code || !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut.String(), tt.code, tt.want)
			}
		})
	}
}

func TestCutFlags(t *testing.T) {
	tests := []struct {
		args   []string
		values map[string]string
		rest   []string
	}{
		{[]string{"--config", "a.toml", "--public-url", "https://x"}, map[string]string{"config": "a.toml"}, []string{"--public-url", "https://x"}},
		{[]string{"-config=a.toml", "--dry-run", "-instance", "siq2"}, map[string]string{"config": "a.toml", "instance": "siq2"}, []string{"--dry-run"}},
		{[]string{"--public-url=https://x", "--instance=siq"}, map[string]string{"instance": "siq"}, []string{"--public-url=https://x"}},
		{nil, map[string]string{}, nil},
	}
	for _, tt := range tests {
		values, rest, err := cutFlags(tt.args, "config", "instance")
		if err != nil || !reflect.DeepEqual(values, tt.values) || !reflect.DeepEqual(rest, tt.rest) {
			t.Errorf("cutFlags(%q) = %v, %q, %v; want %v, %q", tt.args, values, rest, err, tt.values, tt.rest)
		}
	}
}
