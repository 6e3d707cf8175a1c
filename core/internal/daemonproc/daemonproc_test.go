package daemonproc

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/config"
)

// fakeEnv makes the test binary act as `switchboard serve --config F`:
// "ready" serves /readyz on server.listen until SIGTERM, "never-ready"
// answers 503.
const fakeEnv = "DAEMONPROC_FAKE"

func TestMain(m *testing.M) {
	if mode := os.Getenv(fakeEnv); mode != "" {
		os.Exit(fakeDaemon(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeDaemon(mode string, args []string) int {
	if len(args) != 3 || args[0] != "serve" || args[1] != "--config" {
		fmt.Fprintln(os.Stderr, "unexpected arguments", args)
		return 2
	}
	cfg, err := config.Load(args[2], nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "server.listen:", err)
		return 1
	}
	fmt.Println("serving on", cfg.Server.Listen, "with plugins from", cfg.Plugins.Dir)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if mode != "ready" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})}
	go srv.Serve(ln)
	<-ctx.Done()
	srv.Close()
	return 0
}

// fakeBin is a bin directory whose switchboard is this test binary, in
// the given fake mode.
func fakeBin(t *testing.T, mode string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.Symlink(self, filepath.Join(bin, "switchboard")); err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeEnv, mode)
	return bin
}

func TestWriteConfigMeansWhatItSays(t *testing.T) {
	dir := t.TempDir()
	path, url, err := WriteConfig(Options{
		Bin: "/opt/sb", Dir: dir, LogLevel: "warn", ShutdownTimeout: 2 * time.Second, APIKeys: []string{"k1", "k2"},
		Sections: "\n[bot]\ngather_window = \"0s\"\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if "http://"+cfg.Server.Listen != url || cfg.DBPath() != DBPath(dir) || cfg.Plugins.Dir != "/opt/sb/plugins" ||
		cfg.Log.Level != "warn" || cfg.Server.ShutdownTimeout != 2*time.Second ||
		strings.Join(cfg.API.Keys, ",") != "k1,k2" || cfg.Bot.GatherWindow != 0 {
		t.Errorf("config %+v at %s", cfg, url)
	}
}

func TestStartAndStop(t *testing.T) {
	var out strings.Builder
	d, err := New(Options{Bin: fakeBin(t, "ready"), Dir: t.TempDir(), Output: &out, PollInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !d.Running() || d.Pid() == 0 || d.ReadyAt.Before(d.StartedAt) {
		t.Fatalf("running %v pid %d started %v ready %v", d.Running(), d.Pid(), d.StartedAt, d.ReadyAt)
	}
	d.Stop(10 * time.Second)
	<-d.Done()
	if d.Err() != nil || d.Running() {
		t.Errorf("after SIGTERM: %v, running %v", d.Err(), d.Running())
	}
	if !strings.Contains(out.String(), "serving on "+strings.TrimPrefix(d.URL, "http://")) || !strings.Contains(d.Output(), "serving on") {
		t.Errorf("output %q, tail %q", out.String(), d.Output())
	}
	// It starts again on the same config, and Kill ends it at once.
	if err := d.Start(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	d.Kill()
	if d.Running() || d.Err() == nil {
		t.Errorf("after SIGKILL: running %v, exit %v", d.Running(), d.Err())
	}
}

// A port taken between writing the config and starting moves the daemon
// to another one.
func TestStartMovesOffATakenPort(t *testing.T) {
	d, err := New(Options{Bin: fakeBin(t, "ready"), Dir: t.TempDir(), PollInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	taken := strings.TrimPrefix(d.URL, "http://")
	ln, err := net.Listen("tcp", taken)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := d.Start(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	defer d.Stop(10 * time.Second)
	if d.URL == "http://"+taken {
		t.Fatalf("still on the taken port %s", taken)
	}
	cfg, err := config.Load(d.ConfigPath, nil)
	if err != nil || "http://"+cfg.Server.Listen != d.URL {
		t.Fatalf("config listens on %v (%v), URL %s", cfg.Server.Listen, err, d.URL)
	}
}

// A daemon that does not get ready in time is killed and the error quotes
// what it said.
func TestStartGivesUpOnADaemonNeverReady(t *testing.T) {
	d, err := New(Options{Bin: fakeBin(t, "never-ready"), Dir: t.TempDir(), PollInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// Long enough for the fake to start and say where it serves on a busy
	// machine, where starting a process can take longer than a second.
	err = d.Start(5 * time.Second)
	if err == nil || !strings.Contains(err.Error(), "not ready after") || !strings.Contains(err.Error(), "serving on") {
		t.Fatalf("error %v", err)
	}
	if d.Running() {
		t.Error("the daemon still runs")
	}
}
