package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// copyPlugin copies a built plugin binary into dir with the given mode.
func copyPlugin(t *testing.T, dir, name string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(binDir, "plugins", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
		t.Fatal(err)
	}
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Each config that serve refuses makes check-config exit 1 naming the
// problem, and the problems of one file are named together.
func TestCheckConfigRunsTheChecksOfServe(t *testing.T) {
	bin := filepath.Join(binDir, "switchboard")
	channel := func(options string) string {
		return "[channels.demo]\nplugin = \"echo\"\n[channels.demo.options]\nreply_url = \"http://127.0.0.1:1/replies\"\n" + options
	}
	config := func(t *testing.T, dataDir, pluginDir, extra string) string {
		t.Helper()
		if dataDir == "" {
			dataDir = filepath.Join(t.TempDir(), "data")
		}
		if pluginDir == "" {
			pluginDir = filepath.Join(binDir, "plugins")
		}
		path := filepath.Join(t.TempDir(), "config.toml")
		text := fmt.Sprintf("[server]\nlisten = %q\ndata_dir = %q\n\n[plugins]\ndir = %q\n\n%s", freeAddr(t), dataDir, pluginDir, extra)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name  string
		setup func(t *testing.T) string
		want  []string // each in the output
	}{
		{"wrong sha256 pin", func(t *testing.T) string {
			return config(t, "", "", channel("")+"\n[plugins.sha256]\necho = \""+strings.Repeat("0", 64)+"\"\n")
		}, []string{"channels.demo.plugin", "checksum mismatch"}},
		{"world-writable plugin folder", func(t *testing.T) string {
			dir := t.TempDir()
			copyPlugin(t, dir, "echo", 0o755)
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			return config(t, "", dir, channel(""))
		}, []string{"channels.demo.plugin", "plugin directory", "writable by other users"}},
		{"world-writable plugin binary", func(t *testing.T) string {
			dir := t.TempDir()
			copyPlugin(t, dir, "echo", 0o777)
			return config(t, "", dir, channel(""))
		}, []string{"channels.demo.plugin", "writable by other users"}},
		{"unknown plugin option", func(t *testing.T) string {
			return config(t, "", "", channel("colour = \"red\"\n"))
		}, []string{"channels.demo.options", "colour"}},
		{"data folder that cannot be created", func(t *testing.T) string {
			return config(t, "/proc/nope", "", channel(""))
		}, []string{"server.data_dir", "/proc/nope"}},
		{"every problem at once", func(t *testing.T) string {
			return config(t, "/proc/nope", "", channel("colour = \"red\"\n")+"\n[channels.other]\nplugin = \"echo\"\n[channels.other.options]\nreply_url = \"not a url\"\n")
		}, []string{"server.data_dir", "channels.demo.options", "colour", "channels.other.options", "reply_url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.setup(t)
			out, err := runWithTimeout(exec.Command(bin, "check-config", "--config", path), 60*time.Second)
			if exitCode(err) != 1 {
				t.Fatalf("check-config: exit %d, want 1\n%s", exitCode(err), out)
			}
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("check-config output does not name %q:\n%s", want, out)
				}
			}
		})
	}
	// Nothing was created by the checks.
	if _, err := os.Stat("/proc/nope"); err == nil {
		t.Error("/proc/nope exists")
	}
}

// At serve, a plugin that rejects its options is reported and marked
// failed in /readyz while the rest of the daemon starts; with --strict the
// daemon refuses to start.
func TestServeStartsWithoutAPluginThatRejectsItsOptions(t *testing.T) {
	bin := filepath.Join(binDir, "switchboard")
	target := newFakeTarget(t)
	dir := t.TempDir()
	path, url := writeConfig(t, dir, echoChannel(target.URL)+`
[channels.broken]
plugin = "echo"
[channels.broken.options]
reply_url = "not a url"
`)

	strict := exec.Command(bin, "serve", "--strict", "--config", path)
	out, err := runWithTimeout(strict, 60*time.Second)
	if exitCode(err) != 1 || !strings.Contains(out, "broken") {
		t.Fatalf("serve --strict: exit %d, want 1 naming the plugin\n%s", exitCode(err), out)
	}

	var logs syncBuffer
	cmd := exec.Command(bin, "serve", "--config", path)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	client := &http.Client{Timeout: 10 * time.Second}
	waitUntil(t, 30*time.Second, "the daemon to serve", func() bool {
		resp, err := client.Get(url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	resp, err := client.Get(url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready struct {
		Status  string `json:"status"`
		Plugins []struct {
			Instance, State, Error string
		} `json:"plugins"`
	}
	json.NewDecoder(resp.Body).Decode(&ready)
	resp.Body.Close()
	states := map[string]string{}
	for _, p := range ready.Plugins {
		states[p.Instance] = p.State
		if p.Instance == "broken" && !strings.Contains(p.Error, "reply_url") {
			t.Errorf("/readyz error of the broken plugin: %q, want its option named", p.Error)
		}
	}
	if resp.StatusCode != http.StatusServiceUnavailable || states["broken"] != "failed" || states["demo"] != "up" {
		t.Errorf("/readyz: %d %+v, want 503 with broken failed and demo up", resp.StatusCode, ready)
	}
	if !strings.Contains(logs.String(), "refused its options") {
		t.Errorf("the log does not report the plugin:\n%s", logs.String())
	}
	// The working channel answers.
	resp, err = client.Post(url+"/webhooks/demo", "application/json",
		strings.NewReader(`{"id":"e1","chat":"room-1","user":"u1","text":"hello"}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("webhook to the working channel: %d", resp.StatusCode)
	}
}
