package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/core/internal/daemonproc"
)

// daemon is a switchboard daemon started from bin/, its output appended
// to daemon.log in its directory.
type daemon struct {
	*daemonproc.Daemon
	log *os.File
}

// dataPath is where the daemon of a run directory keeps its database.
func dataPath(dir string) string { return daemonproc.DBPath(dir) }

// newDaemon writes a config for a daemon in dir (data in dir/data) with the
// given channel and model sections; it does not start it.
func newDaemon(dir, sections string) *daemon {
	logf, err := os.OpenFile(filepath.Join(dir, "daemon.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		fatalf("%v", err)
	}
	proc, err := daemonproc.New(daemonproc.Options{
		Bin: *binDir, Dir: dir, LogLevel: "warn", ShutdownTimeout: 2 * time.Second, Sections: sections,
		Output: logf,
		// Fine-grained: the startup figures are read from ReadyAt.
		PollInterval: 2 * time.Millisecond,
	})
	if err != nil {
		fatalf("%v", err)
	}
	return &daemon{Daemon: proc, log: logf}
}

func telegramSection(apiBase string) string {
	return "\n[channels.tg]\nplugin = \"telegram\"\n[channels.tg.options]\n" + tomlValues(telegramOptions(apiBase))
}

func llmSection(host string) string {
	return "\n[llm]\nplugin = \"ollama\"\n[llm.options]\n" + tomlValues(modelOptions(host)) + "\n[bot]\ngather_window = \"0s\"\n"
}

// modelOptions are the ollama plugin's options against the fake model at
// host.
func modelOptions(host string) map[string]any {
	return map[string]any{"host": host, "model": benchModel, "timeout": "30s"}
}

// tomlValues writes string options as TOML key/value lines, sorted.
func tomlValues(opts map[string]any) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		fmt.Fprintf(&b, "%s = %q\n", k, opts[k])
	}
	return b.String()
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

// start launches the daemon and waits up to limit until it is ready.
func (d *daemon) start(limit time.Duration) {
	if err := d.Start(limit); err != nil {
		fatalf("%v", err)
	}
}

// stop ends the daemon with SIGTERM (SIGKILL after 20 s).
func (d *daemon) stop() {
	d.Stop(20 * time.Second)
	d.log.Close()
}

// pids returns the daemon's pid and its plugins' pids from /readyz.
func (d *daemon) pids() []int {
	out := []int{d.Pid()}
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(d.URL + "/readyz")
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
