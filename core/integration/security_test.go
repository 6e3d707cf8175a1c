package integration

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// cli runs the switchboard command with the daemon's config.
func (d *daemon) cli(args ...string) (string, int) {
	d.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "switchboard"), args...)
	out, err := runWithTimeout(cmd, 20*time.Second)
	return out, exitCode(err)
}

// withConfig puts --config after the command and subcommand words.
func withConfig(d *daemon, args ...string) []string {
	out := append([]string{}, args[:2]...)
	out = append(out, "--config", d.cfgPath)
	return append(out, args[2:]...)
}

func getWithKey(t *testing.T, url, key string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := checkedClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestAPIKeysFromTheCommandLine(t *testing.T) {
	d := startDaemon(t, "")

	// While the daemon runs, the command goes through its admin API.
	out, code := d.cli(withConfig(d, "apikey", "create", "--name", "crm", "--scopes", "conversations:read")...)
	if code != 0 {
		t.Fatalf("apikey create: %d\n%s", code, out)
	}
	key := strings.Fields(out)[0]
	if !strings.HasPrefix(key, "sb_") {
		t.Fatalf("no key printed:\n%s", out)
	}
	if got := getWithKey(t, d.URL+"/v1/conversations", key); got != 200 {
		t.Fatalf("read with the new key: %d", got)
	}
	if got := getWithKey(t, d.URL+"/v1/admin/audit", key); got != 403 {
		t.Fatalf("admin with a read key: %d", got)
	}

	// Stopped: the command works on the database file itself.
	d.stop()
	out, code = d.cli(withConfig(d, "apikey", "create", "--name", "ops", "--scopes", "admin", "--allow-ip", "127.0.0.0/8", "--rate", "50/s")...)
	if code != 0 {
		t.Fatalf("apikey create offline: %d\n%s", code, out)
	}
	opsKey := strings.Fields(out)[0]
	if out, code = d.cli(withConfig(d, "apikey", "revoke", "crm")...); code != 0 {
		t.Fatalf("revoke: %d\n%s", code, out)
	}
	out, _ = d.cli(withConfig(d, "apikey", "list")...)
	if !strings.Contains(out, "crm") || !strings.Contains(out, "revoked") || !strings.Contains(out, "ops") {
		t.Fatalf("list:\n%s", out)
	}
	raw, _ := os.ReadFile(filepath.Join(d.dir, "data", "switchboard.db"))
	for _, secret := range []string{key, opsKey, strings.TrimPrefix(key, "sb_")} {
		if strings.Contains(string(raw), secret) {
			t.Fatal("the database file contains an API key")
		}
	}

	d.start()
	if got := getWithKey(t, d.URL+"/v1/conversations", key); got != 401 {
		t.Fatalf("revoked key: %d", got)
	}
	if got := getWithKey(t, d.URL+"/v1/admin/audit", opsKey); got != 200 {
		t.Fatalf("admin key: %d", got)
	}
}

func TestAuditVerifyDetectsAnEditedEntry(t *testing.T) {
	d := startDaemon(t, "")
	for _, name := range []string{"a", "b", "c"} {
		if out, code := d.cli(withConfig(d, "apikey", "create", "--name", name, "--scopes", "conversations:read")...); code != 0 {
			t.Fatalf("create %s: %s", name, out)
		}
	}
	if out, code := d.cli(withConfig(d, "audit", "verify")...); code != 0 || !strings.Contains(out, "3 entries") {
		t.Fatalf("verify: %d\n%s", code, out)
	}
	d.stop()

	// Edit entry 2 in a copy of the database.
	data, _ := os.ReadFile(filepath.Join(d.dir, "data", "switchboard.db"))
	copyPath := filepath.Join(d.dir, "copy.db")
	os.WriteFile(copyPath, data, 0o600)
	db, err := bolt.Open(copyPath, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("audit"))
		k := []byte{0, 0, 0, 0, 0, 0, 0, 2}
		var e map[string]any
		if err := json.Unmarshal(b.Get(k), &e); err != nil {
			return err
		}
		e["actor"] = "nobody"
		edited, _ := json.Marshal(e)
		return b.Put(k, edited)
	})
	db.Close()

	out, code := d.cli("audit", "verify", "--db", copyPath)
	if code != 1 || !strings.Contains(out, "audit entry 2") {
		t.Fatalf("verify of the edited copy: %d\n%s", code, out)
	}
}
