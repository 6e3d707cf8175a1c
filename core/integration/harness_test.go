package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binDir holds the daemon and plugin binaries built once for all tests.
var binDir string

// examplePlugins maps the example plugins the tests use to their packages;
// every folder under plugins/ is built too, under its own name.
var examplePlugins = map[string]string{
	"echo":         "./examples/echo-channel",
	"webhook-desk": "./examples/webhook-desk",
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "switchboard-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := 1
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, "build binaries:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func build(dir string) error {
	root, err := filepath.Abs("../..")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "plugins"), 0o755); err != nil {
		return err
	}
	targets := map[string]string{filepath.Join(dir, "switchboard"): "./core/cmd/switchboard"}
	for name, pkg := range examplePlugins {
		targets[filepath.Join(dir, "plugins", name)] = pkg
	}
	shipped, err := os.ReadDir(filepath.Join(root, "plugins"))
	if err != nil {
		return err
	}
	for _, e := range shipped {
		if _, err := os.Stat(filepath.Join(root, "plugins", e.Name(), "main.go")); err == nil {
			targets[filepath.Join(dir, "plugins", e.Name())] = "./plugins/" + e.Name()
		}
	}
	for out, pkg := range targets {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	return nil
}

const apiKey = "test-key"

// daemon is a running switchboard process.
type daemon struct {
	t       *testing.T
	dir     string
	cfgPath string
	URL     string
	cmd     *exec.Cmd
	logs    *syncBuffer
	exited  chan error
}

// syncBuffer collects a process's output safely across goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// writeConfig writes a config with the test's data dir, plugin dir and a
// free port; extra is appended verbatim.
func writeConfig(t *testing.T, dir, extra string) (path, url string) {
	t.Helper()
	addr := freeAddr(t)
	cfg := fmt.Sprintf(`
[server]
listen = %q
data_dir = %q

[log]
level = "debug"

[plugins]
dir = %q

[api]
keys = [%q]
`, addr, filepath.Join(dir, "data"), filepath.Join(binDir, "plugins"), apiKey) + extra
	path = filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, "http://" + addr
}

// startDaemon starts switchboard with the given extra config and waits until
// it is ready.
func startDaemon(t *testing.T, extra string) *daemon {
	t.Helper()
	dir := t.TempDir()
	path, url := writeConfig(t, dir, extra)
	d := &daemon{t: t, dir: dir, cfgPath: path, URL: url}
	d.start()
	t.Cleanup(d.stop)
	return d
}

func (d *daemon) start() {
	d.t.Helper()
	// A port found free may be taken by another process before the daemon
	// binds it; then the daemon starts again on another one.
	for attempt := 1; ; attempt++ {
		d.logs = &syncBuffer{}
		d.cmd = exec.Command(filepath.Join(binDir, "switchboard"), "serve", "--config", d.cfgPath)
		d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
		if err := d.cmd.Start(); err != nil {
			d.t.Fatal(err)
		}
		d.exited = make(chan error, 1)
		go func(cmd *exec.Cmd, ch chan error) { ch <- cmd.Wait() }(d.cmd, d.exited)
		err := d.waitReady(20 * time.Second)
		if err == nil {
			return
		}
		if attempt < 5 && strings.Contains(d.logs.String(), "address already in use") {
			d.movePort()
			continue
		}
		d.t.Fatalf("%v\n%s", err, d.logs)
	}
}

// movePort rewrites the config's server.listen to a new free port.
func (d *daemon) movePort() {
	d.t.Helper()
	data, err := os.ReadFile(d.cfgPath)
	if err != nil {
		d.t.Fatal(err)
	}
	old := strings.TrimPrefix(d.URL, "http://")
	addr := freeAddr(d.t)
	cfg := strings.Replace(string(data), fmt.Sprintf("listen = %q", old), fmt.Sprintf("listen = %q", addr), 1)
	if err := os.WriteFile(d.cfgPath, []byte(cfg), 0o600); err != nil {
		d.t.Fatal(err)
	}
	d.URL = "http://" + addr
}

var readyClient = &http.Client{Timeout: 2 * time.Second}

// waitReady polls /readyz until it answers 200; it fails if the daemon
// exits first or limit passes.
func (d *daemon) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case err := <-d.exited:
			return fmt.Errorf("daemon exited before it was ready: %v", err)
		default:
		}
		// A bounded client: the port may belong to someone else that never
		// answers.
		resp, err := readyClient.Get(d.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("daemon not ready after %v", limit)
}

// kill SIGKILLs the daemon (its plugins notice their parent is gone).
func (d *daemon) kill() {
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.exited
}

func (d *daemon) stop() {
	if d.cmd.ProcessState != nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(15 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
	}
	if d.t.Failed() {
		d.t.Logf("daemon log:\n%s", d.logs)
	}
}

// do sends a request and decodes a JSON answer into out (when non-nil).
func (d *daemon) do(method, path string, body any, out any) int {
	d.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, d.URL+path, rd)
	if strings.HasPrefix(path, "/v1/") {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			d.t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

type readyz struct {
	Status  string `json:"status"`
	Plugins []struct {
		Instance string `json:"instance"`
		State    string `json:"state"`
		PID      int    `json:"pid"`
		Restarts int    `json:"restarts"`
	} `json:"plugins"`
}

func (d *daemon) pluginPID(instance string) int {
	d.t.Helper()
	var r readyz
	d.do("GET", "/readyz", nil, &r)
	for _, p := range r.Plugins {
		if p.Instance == instance {
			return p.PID
		}
	}
	d.t.Fatalf("no plugin %s in /readyz", instance)
	return 0
}

type conversation struct {
	ID      string `json:"id"`
	Channel string `json:"channel"`
	State   string `json:"state"`
	User    struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"user"`
}

type message struct {
	ID   string `json:"id"`
	Role string `json:"role"`
	Text string `json:"text"`
}

// transcripts returns every conversation's messages' texts, by channel ref
// owner (conversation user ID).
func (d *daemon) allTexts() map[string]bool {
	d.t.Helper()
	var list struct {
		Conversations []conversation `json:"conversations"`
	}
	d.do("GET", "/v1/conversations?limit=1000", nil, &list)
	texts := map[string]bool{}
	for _, c := range list.Conversations {
		var msgs struct {
			Messages []message `json:"messages"`
		}
		d.do("GET", "/v1/conversations/"+c.ID+"/messages?limit=1000", nil, &msgs)
		for _, m := range msgs.Messages {
			texts[m.Text] = true
		}
	}
	return texts
}

// fakeTarget is the echo platform's reply endpoint.
type fakeTarget struct {
	mu      sync.Mutex
	replies []map[string]string
	srv     *http.Server
	URL     string
}

func newFakeTarget(t *testing.T) *fakeTarget {
	f := &fakeTarget{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.URL = "http://" + ln.Addr().String() + "/replies"
	f.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.replies = append(f.replies, body)
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})}
	go f.srv.Serve(ln)
	t.Cleanup(func() { f.srv.Close() })
	return f
}

func (f *fakeTarget) received() []map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]string(nil), f.replies...)
}

func echoChannel(replyURL string) string {
	return fmt.Sprintf(`
[channels.demo]
plugin = "echo"
[channels.demo.options]
reply_url = %q
`, replyURL)
}

func postWebhook(t *testing.T, url, instance string, body string) int {
	t.Helper()
	resp, err := http.Post(url+"/webhooks/"+instance, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("webhook: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// newServer serves h on a loopback port until the test ends.
func newServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}
