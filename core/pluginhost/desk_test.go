package pluginhost

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/sdk"
)

// buildPlugins builds example plugins into a fresh directory, by name.
func buildPlugins(t *testing.T, pkgs map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "plugins")
	for name, pkg := range pkgs {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
		cmd.Dir = filepath.Join("..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return dir
}

// The host dispenses a desk client for an instance whose plugin serves a
// desk, and none for a plain channel.
func TestHostDispensesTheDeskService(t *testing.T) {
	if testing.Short() {
		t.Skip("builds plugin binaries")
	}
	var got struct {
		path, key string
	}
	desk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		got.path, got.key = r.URL.Path, r.Header.Get("Idempotency-Key")
		json.NewEncoder(w).Encode(map[string]string{"ref": "T-1"})
	}))
	defer desk.Close()
	dir := buildPlugins(t, map[string]string{"echo": "./examples/echo-channel", "webhook-desk": "./examples/webhook-desk"})
	log := logrus.New()
	log.SetOutput(io.Discard)
	h := New(Config{Dir: dir}, log)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := h.Start(ctx, []Spec{
		{Instance: "demo", Plugin: "echo", Kind: sdk.KindChannel, Options: map[string]any{"reply_url": "http://127.0.0.1:1/"}},
		{Instance: "desk", Plugin: "webhook-desk", Kind: sdk.KindChannel, Options: map[string]any{"desk_url": desk.URL, "secret": "s"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Stop()

	if d, ok, err := h.Desk("demo"); ok || d != nil || err != nil {
		t.Errorf("a plain channel has a desk: %v %v %v", d, ok, err)
	}
	if _, ok, _ := h.Desk("nobody"); ok {
		t.Error("an unknown instance has a desk")
	}
	if caps, _ := h.Capabilities("desk"); !caps.Desk {
		t.Error("the desk plugin's capabilities lack the desk")
	}
	d, ok, err := h.Desk("desk")
	if !ok || err != nil {
		t.Fatalf("desk: %v %v", ok, err)
	}
	ref, err := d.OpenHandoff(ctx, sdk.Handoff{ID: "o3", Channel: "demo", User: sdk.User{ID: "u"}})
	if err != nil || ref != "T-1" || got.path != "/handoffs" || got.key != "o3" {
		t.Errorf("open: %q %v; the desk got %+v", ref, err, got)
	}
}
