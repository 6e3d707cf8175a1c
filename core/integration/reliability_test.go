package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A reply the platform refuses becomes a dead letter with an alert; once
// the platform is fixed, retrying it from the command line delivers it.
// A backup taken from the running daemon restores.
func TestDeadLettersAlertsAndBackup(t *testing.T) {
	var refuse atomic.Bool
	refuse.Store(true)
	var mu sync.Mutex
	var replies []string
	target := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refuse.Load() {
			http.Error(w, `{"error":"chat not found"}`, http.StatusBadRequest)
			return
		}
		var body map[string]string
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		replies = append(replies, body["text"])
		mu.Unlock()
	}))
	alertsGot := make(chan map[string]any, 4)
	alertURL := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a map[string]any
		json.NewDecoder(r.Body).Decode(&a)
		alertsGot <- a
	}))
	d := startDaemon(t, echoChannel(target+"/replies")+fmt.Sprintf("\n[alerts]\nwebhook_url = %q\n", alertURL))

	postWebhook(t, d.URL, "demo", `{"id":"m1","chat":"room-1","text":"hello?"}`)
	select {
	case a := <-alertsGot:
		if a["kind"] != "dead_letter" {
			t.Fatalf("alert %v", a)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no dead-letter alert")
	}
	out, code := d.cli(withConfig(d, "deadletter", "list")...)
	if code != 0 || !strings.Contains(out, "permanent error") {
		t.Fatalf("deadletter list: %d\n%s", code, out)
	}
	id := strings.Fields(out)[0]

	refuse.Store(false)
	if out, code := d.cli(withConfig(d, "deadletter", "retry", id)...); code != 0 {
		t.Fatalf("retry: %d\n%s", code, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(replies)
		mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the retried dead letter was not delivered")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out, _ := d.cli(withConfig(d, "deadletter", "list")...); !strings.Contains(out, "no dead letters") {
		t.Fatalf("after retry:\n%s", out)
	}

	backup := filepath.Join(t.TempDir(), "backup.db")
	if out, code := d.cli("backup", "--config", d.cfgPath, "--out", backup); code != 0 {
		t.Fatalf("backup: %d\n%s", code, out)
	}
	// Restore: stop, put the backup in place of the database, start.
	d.stop()
	data, err := os.ReadFile(backup)
	if err != nil || len(data) == 0 {
		t.Fatalf("backup file: %v", err)
	}
	os.WriteFile(d.DBPath(), data, 0o600)
	d.start()
	if !d.allTexts()["hello?"] {
		t.Fatal("the restored database lacks the conversation")
	}
	if out, code := d.cli(withConfig(d, "audit", "verify")...); code != 0 || !strings.Contains(out, "entries") {
		t.Fatalf("audit after restore: %s", out)
	}
}
