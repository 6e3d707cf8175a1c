package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// daemon is a running switchboard process started from bin/.
type daemon struct {
	dir     string // holds config.toml, data/ and daemon.log
	cfgPath string
	URL     string
	cmd     *exec.Cmd
	exited  chan error
	started time.Time
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatalf("listen: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// dataPath is where the daemon of a run directory keeps its database.
func dataPath(dir string) string { return filepath.Join(dir, "data", "switchboard.db") }

// newDaemon writes a config for a daemon in dir (data in dir/data) with the
// given channel and model sections; it does not start it.
func newDaemon(dir, sections string) *daemon {
	addr := freeAddr()
	cfg := fmt.Sprintf(`
[server]
listen = %q
data_dir = %q
shutdown_timeout = "2s"

[log]
level = "warn"

[plugins]
dir = %q
`, addr, filepath.Join(dir, "data"), filepath.Join(*binDir, "plugins")) + sections
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		fatalf("%v", err)
	}
	return &daemon{dir: dir, cfgPath: path, URL: "http://" + addr}
}

func telegramSection(apiBase string) string {
	return fmt.Sprintf(`
[channels.tg]
plugin = "telegram"
[channels.tg.options]
token = %q
api_base = %q
mode = "webhook"
secret_token = %q
`, tgToken, apiBase, tgSecret)
}

func llmSection(host string) string {
	return fmt.Sprintf(`
[llm]
plugin = "ollama"
[llm.options]
host = %q
model = %q
timeout = "30s"

[bot]
gather_window = "0s"
`, host, benchModel)
}

// allShipped configures every shipped plugin: telegram, line, salesiq and
// ollama, all pointing at the fakes.
func allShipped(apiBase, ollama string) string {
	return telegramSection(apiBase) + fmt.Sprintf(`
[channels.line]
plugin = "line"
[channels.line.options]
channel_secret = %q
access_token = %q
api_base = %q

[channels.siq]
plugin = "salesiq"
[channels.siq.options]
api_base = %q
accounts_base = %q
screen_name = "bench"
client_id = "bench-client"
client_secret = "bench-secret"
refresh_token = "bench-refresh"
app_id = "1"
department_id = "2"
insecure_skip_signature = true
`, lineSec, lineTok, apiBase, apiBase, apiBase) + llmSection(ollama)
}

// start launches the daemon; ready waits for /readyz 200.
func (d *daemon) start() {
	logf, err := os.OpenFile(filepath.Join(d.dir, "daemon.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		fatalf("%v", err)
	}
	d.cmd = exec.Command(filepath.Join(*binDir, "switchboard"), "serve", "--config", d.cfgPath)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.started = time.Now()
	if err := d.cmd.Start(); err != nil {
		fatalf("start daemon: %v", err)
	}
	d.exited = make(chan error, 1)
	go func() { d.exited <- d.cmd.Wait(); logf.Close() }()
}

var pollClient = &http.Client{Timeout: 2 * time.Second}

// waitReady polls /readyz until 200 and returns when it first answered so.
func (d *daemon) waitReady(limit time.Duration) time.Time {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case err := <-d.exited:
			fatalf("daemon exited before it was ready: %v\n%s", err, d.logTail())
		default:
		}
		resp, err := pollClient.Get(d.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now()
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	fatalf("daemon not ready after %v\n%s", limit, d.logTail())
	return time.Time{}
}

func (d *daemon) logTail() string {
	b, _ := os.ReadFile(filepath.Join(d.dir, "daemon.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// stop ends the daemon with SIGTERM (SIGKILL after 20 s).
func (d *daemon) stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(20 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
	}
	d.cmd = nil
}

// pids returns the daemon's pid and its plugins' pids from /readyz.
func (d *daemon) pids() []int {
	out := []int{d.cmd.Process.Pid}
	resp, err := pollClient.Get(d.URL + "/readyz")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	var r struct {
		Plugins []struct {
			PID int `json:"pid"`
		} `json:"plugins"`
	}
	json.NewDecoder(resp.Body).Decode(&r)
	for _, p := range r.Plugins {
		if p.PID > 0 {
			out = append(out, p.PID)
		}
	}
	return out
}

// memKB is a process's resident memory from /proc/<pid>/status: VmRSS,
// and its anonymous part RssAnon (heap, stacks). The rest is file pages
// mapped into the process: its executable, and for the daemon the
// database, which bbolt reads through mmap.
type memKB struct{ rss, anon int }

func readMem(pid int) memKB {
	var m memKB
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			m.rss, _ = strconv.Atoi(f[1])
		case "RssAnon:":
			m.anon, _ = strconv.Atoi(f[1])
		}
	}
	return m
}

// mem sums memKB over the daemon and its plugins.
func (d *daemon) mem() memKB {
	var sum memKB
	for _, pid := range d.pids() {
		m := readMem(pid)
		sum.rss += m.rss
		sum.anon += m.anon
	}
	return sum
}
