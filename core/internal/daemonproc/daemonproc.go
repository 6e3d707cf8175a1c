// Package daemonproc runs a switchboard daemon as a child process, for the
// integration tests and the benchmark: it writes the daemon's config on a
// free loopback port, starts `switchboard serve`, waits until /readyz
// answers 200, starts again on another port when the chosen one was taken
// in the meantime, and stops or kills the process.
package daemonproc

import (
	"bytes"
	"context"
	"errors"
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
	"time"

	"github.com/switchboard-chat/switchboard/core/config"
)

// Options describe a daemon and how it is watched.
type Options struct {
	// Bin is the directory holding the switchboard binary and plugins/.
	Bin string
	// Dir is the daemon's own directory: config.toml and data/ go there.
	Dir string
	// LogLevel is log.level; "" leaves the daemon's default.
	LogLevel string
	// ShutdownTimeout is server.shutdown_timeout; 0 leaves the daemon's
	// default.
	ShutdownTimeout time.Duration
	// APIKeys are api.keys; none leaves the [api] section out.
	APIKeys []string
	// Server is TOML lines added to the generated [server] section, such
	// as read_timeout = "2s".
	Server string
	// Sections is TOML appended after the generated [server], [log],
	// [plugins] and [api] sections: channels, [llm], [bot]…
	Sections string
	// Output receives everything the daemon writes; nil discards it (the
	// last lines are still quoted in errors).
	Output io.Writer
	// PollInterval is how often /readyz is asked while waiting; 0 asks
	// every 50ms.
	PollInterval time.Duration
	// ReadyPath is the route asked until it answers 200; "" is /readyz.
	// /healthz serves a daemon whose model server is down, which /readyz
	// rightly calls not ready.
	ReadyPath string
}

// maxStarts bounds the starts of one Start call that found their port
// taken.
const maxStarts = 5

// tailBytes is how much of the daemon's latest output errors quote.
const tailBytes = 16 << 10

// DBPath is where a daemon with directory dir keeps its database.
func DBPath(dir string) string { return filepath.Join(dir, "data", config.DBFileName) }

// WriteConfig writes the config file of opts into opts.Dir, listening on a
// free loopback port, and returns its path and the daemon's base URL.
func WriteConfig(opts Options) (path, url string, err error) {
	addr, err := freeAddr()
	if err != nil {
		return "", "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n[server]\nlisten = %q\ndata_dir = %q\n", addr, filepath.Join(opts.Dir, "data"))
	if opts.ShutdownTimeout > 0 {
		fmt.Fprintf(&b, "shutdown_timeout = %q\n", opts.ShutdownTimeout.String())
	}
	if opts.Server != "" {
		b.WriteString(strings.TrimSpace(opts.Server) + "\n")
	}
	if opts.LogLevel != "" {
		fmt.Fprintf(&b, "\n[log]\nlevel = %q\n", opts.LogLevel)
	}
	fmt.Fprintf(&b, "\n[plugins]\ndir = %q\n", filepath.Join(opts.Bin, "plugins"))
	if len(opts.APIKeys) > 0 {
		quoted := make([]string, len(opts.APIKeys))
		for i, k := range opts.APIKeys {
			quoted[i] = fmt.Sprintf("%q", k)
		}
		fmt.Fprintf(&b, "\n[api]\nkeys = [%s]\n", strings.Join(quoted, ", "))
	}
	b.WriteString(opts.Sections)
	path = filepath.Join(opts.Dir, "config.toml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return "", "", err
	}
	return path, "http://" + addr, nil
}

// Daemon is one daemon's config and, while it runs, its process. Its
// methods are meant for one goroutine at a time.
type Daemon struct {
	opts Options
	// ConfigPath is the daemon's config file.
	ConfigPath string
	// URL is the daemon's base URL, http://127.0.0.1:<port>; it changes
	// when Start has to move to another port.
	URL string
	// StartedAt is when the process of the last Start was launched, and
	// ReadyAt when /readyz first answered 200 after it.
	StartedAt, ReadyAt time.Time

	client  *http.Client // asks /readyz
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has exited
	exitErr error         // cmd's exit, once done is closed
	tail    *tailBuffer
}

// New writes the daemon's config (see WriteConfig); Start runs it.
func New(opts Options) (*Daemon, error) {
	if opts.PollInterval <= 0 {
		opts.PollInterval = 50 * time.Millisecond
	}
	path, url, err := WriteConfig(opts)
	if err != nil {
		return nil, err
	}
	return &Daemon{
		opts: opts, ConfigPath: path, URL: url,
		client: &http.Client{Timeout: 2 * time.Second},
		tail:   &tailBuffer{max: tailBytes},
	}, nil
}

// DBPath is where the daemon keeps its database.
func (d *Daemon) DBPath() string { return DBPath(d.opts.Dir) }

// Start launches the daemon and waits up to limit for it to be ready. A
// free port found when the config was written may be taken by another
// process before the daemon binds it; the daemon then exits at once, and
// Start moves the config to another free port and launches it again. On
// failure the process is gone and the error quotes its last output.
func (d *Daemon) Start(limit time.Duration) error {
	for attempt := 1; ; attempt++ {
		if err := d.launch(); err != nil {
			return err
		}
		err := d.WaitReady(limit)
		if err == nil {
			return nil
		}
		d.Kill()
		if attempt < maxStarts && portTaken(d.addr()) {
			if err := d.movePort(); err != nil {
				return err
			}
			continue
		}
		return fmt.Errorf("%w; its last output:\n%s", err, d.tail)
	}
}

func (d *Daemon) launch() error {
	if d.Running() {
		return errors.New("the daemon is already running")
	}
	cmd := exec.Command(filepath.Join(d.opts.Bin, "switchboard"), "serve", "--config", d.ConfigPath)
	var out io.Writer = d.tail
	if d.opts.Output != nil {
		out = io.MultiWriter(d.tail, d.opts.Output)
	}
	cmd.Stdout, cmd.Stderr = out, out
	d.StartedAt, d.ReadyAt = time.Now(), time.Time{}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the daemon: %w", err)
	}
	done := make(chan struct{})
	d.cmd, d.done = cmd, done
	go func() {
		d.exitErr = cmd.Wait()
		close(done)
	}()
	return nil
}

// WaitReady polls /readyz (or Options.ReadyPath) until it answers 200
// (setting ReadyAt); it fails if the daemon exits first or limit passes.
func (d *Daemon) WaitReady(limit time.Duration) error {
	if d.cmd == nil {
		return errors.New("the daemon was not started")
	}
	// A request in flight ends when the daemon exits: the port may belong
	// to another process that never answers.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func(done <-chan struct{}) {
		select {
		case <-done:
			cancel()
		case <-ctx.Done():
		}
	}(d.done)
	path := d.opts.ReadyPath
	if path == "" {
		path = "/readyz"
	}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-d.done:
			return fmt.Errorf("daemon exited before it was ready: %v", d.exitErr)
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.URL+path, nil)
		if err != nil {
			return err
		}
		resp, err := d.client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				d.ReadyAt = time.Now()
				return nil
			}
		}
		time.Sleep(d.opts.PollInterval)
	}
	return fmt.Errorf("daemon not ready after %v", limit)
}

// Running reports whether the daemon's process is running.
func (d *Daemon) Running() bool {
	if d.cmd == nil {
		return false
	}
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// Pid is the process id of the running daemon, 0 when none runs.
func (d *Daemon) Pid() int {
	if !d.Running() {
		return 0
	}
	return d.cmd.Process.Pid
}

// Signal sends sig to the running daemon.
func (d *Daemon) Signal(sig os.Signal) error {
	if !d.Running() {
		return errors.New("the daemon is not running")
	}
	return d.cmd.Process.Signal(sig)
}

// Done is closed when the process of the last start has exited; Err then
// tells how.
func (d *Daemon) Done() <-chan struct{} { return d.done }

// Err is how the process of the last start exited (nil: status 0); call
// it after Done is closed.
func (d *Daemon) Err() error { return d.exitErr }

// Stop ends the daemon with SIGTERM, and SIGKILL if it has not exited
// within grace. It does nothing when no daemon runs.
func (d *Daemon) Stop(grace time.Duration) {
	if !d.Running() {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(grace):
		d.Kill()
	}
}

// Kill SIGKILLs the daemon and waits for it to exit; its plugins notice
// their parent is gone and exit too.
func (d *Daemon) Kill() {
	if !d.Running() {
		return
	}
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
}

// Output is the daemon's latest output (up to 16 KiB), over all starts.
func (d *Daemon) Output() string { return d.tail.String() }

func (d *Daemon) addr() string { return strings.TrimPrefix(d.URL, "http://") }

// movePort rewrites server.listen in the config to a new free port.
func (d *Daemon) movePort() error {
	data, err := os.ReadFile(d.ConfigPath)
	if err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	line := fmt.Sprintf("listen = %q", d.addr())
	if !bytes.Contains(data, []byte(line)) {
		return fmt.Errorf("%s has no %s to move", d.ConfigPath, line)
	}
	data = bytes.Replace(data, []byte(line), fmt.Appendf(nil, "listen = %q", addr), 1)
	if err := os.WriteFile(d.ConfigPath, data, 0o600); err != nil {
		return err
	}
	d.URL = "http://" + addr
	return nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// portTaken reports whether another process holds addr.
func portTaken(addr string) bool {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return errors.Is(err, syscall.EADDRINUSE)
	}
	ln.Close()
	return false
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
