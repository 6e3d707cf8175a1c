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
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/httpapi"
	"github.com/switchboard-chat/switchboard/core/internal/apitest"
	"github.com/switchboard-chat/switchboard/core/internal/daemonproc"
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

// daemon is a switchboard process started from binDir for one test.
type daemon struct {
	*daemonproc.Daemon
	t       *testing.T
	dir     string
	cfgPath string
	logs    *syncBuffer // everything the daemon wrote, over all starts
	// client validates its exchanges against the OpenAPI document.
	client *http.Client
}

// checkedClient is an HTTP client whose exchanges under /v1, /w/v1, /op/v1
// and /oauth are validated against the OpenAPI document.
func checkedClient(t testing.TB) *http.Client {
	return apitest.New(t, httpapi.OpenAPI()).Client()
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

// daemonOptions is the test daemon of dir, with extra config appended.
func daemonOptions(dir, extra string) daemonproc.Options {
	return daemonproc.Options{Bin: binDir, Dir: dir, LogLevel: "debug", APIKeys: []string{apiKey}, Sections: extra}
}

// writeConfig writes a config with the test's data dir, plugin dir and a
// free port; extra is appended verbatim.
func writeConfig(t *testing.T, dir, extra string) (path, url string) {
	t.Helper()
	path, url, err := daemonproc.WriteConfig(daemonOptions(dir, extra))
	if err != nil {
		t.Fatal(err)
	}
	return path, url
}

// startDaemon starts switchboard with the given extra config and waits until
// it is ready.
func startDaemon(t *testing.T, extra string) *daemon {
	t.Helper()
	return startDaemonWith(t, extra, "", "")
}

// startDaemonAt is startDaemon waiting for readyPath (see
// daemonproc.Options.ReadyPath) to answer 200 instead of /readyz.
func startDaemonAt(t *testing.T, extra, readyPath string) *daemon {
	t.Helper()
	return startDaemonWith(t, extra, "", readyPath)
}

// startDaemonWith is startDaemon with server lines added to the [server]
// section, waiting for readyPath ("" for /readyz).
func startDaemonWith(t *testing.T, extra, server, readyPath string) *daemon {
	t.Helper()
	dir := t.TempDir()
	logs := &syncBuffer{}
	opts := daemonOptions(dir, extra)
	opts.Server = server
	opts.Output = logs
	opts.ReadyPath = readyPath
	proc, err := daemonproc.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{Daemon: proc, t: t, dir: dir, cfgPath: proc.ConfigPath, logs: logs, client: checkedClient(t)}
	d.start()
	t.Cleanup(d.stop)
	return d
}

// start starts the daemon again (on the same config and database) and
// waits until it is ready.
func (d *daemon) start() {
	d.t.Helper()
	if err := d.Start(20 * time.Second); err != nil {
		d.t.Fatal(err)
	}
}

// kill SIGKILLs the daemon (its plugins notice their parent is gone).
func (d *daemon) kill() { d.Kill() }

func (d *daemon) stop() {
	d.Stop(15 * time.Second)
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
	resp, err := d.client.Do(req)
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
