package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
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
		e := &store.OutboxEntry{ConversationID: "conv-42", Instance: "tg", Kind: "text", Text: "hello", Attempts: 3, CreatedAt: failedAt.Add(-time.Minute)}
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
			if code := run(tt.args, &out, &errOut); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			if !tt.want.MatchString(out.String()) {
				t.Errorf("output %q does not match %s", out.String(), tt.want)
			}
		})
	}
}
