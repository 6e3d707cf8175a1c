package integration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/pluginhost"
	"github.com/switchboard-chat/switchboard/sdk"
)

// A webhook is stored before its 200, and the host can send through the
// plugin to the platform.
func TestEchoWebhookStoredAndSentThroughHost(t *testing.T) {
	target := newFakeTarget(t)
	d := startDaemon(t, echoChannel(target.URL))

	if code := postWebhook(t, d.URL, "demo", `{"id":"e1","chat":"room-1","user":"u1","name":"Ann","text":"hello"}`); code != 200 {
		t.Fatalf("webhook status %d", code)
	}
	var list struct {
		Conversations []conversation `json:"conversations"`
	}
	d.do("GET", "/v1/conversations", nil, &list)
	if len(list.Conversations) != 1 || list.Conversations[0].Channel != "demo" || list.Conversations[0].User.Name != "Ann" {
		t.Fatalf("conversations %+v", list.Conversations)
	}
	var msgs struct {
		Messages []message `json:"messages"`
	}
	d.do("GET", "/v1/conversations/"+list.Conversations[0].ID+"/messages", nil, &msgs)
	if len(msgs.Messages) != 1 || msgs.Messages[0].Text != "hello" || msgs.Messages[0].Role != "visitor" {
		t.Fatalf("messages %+v", msgs.Messages)
	}

	// The same binary driven by the plugin host, as the daemon drives it.
	// It sends to a platform of its own: the daemon's own answer to the
	// visitor goes to target whenever its turn ends.
	platform := newFakeTarget(t)
	host := pluginhost.New(pluginhost.Config{Dir: filepath.Join(binDir, "plugins")}, logrus.New())
	err := host.Start(context.Background(), []pluginhost.Spec{{
		Instance: "demo", Plugin: "echo", Kind: sdk.KindChannel,
		Options: map[string]any{"reply_url": platform.URL},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer host.Stop()
	if err := host.Instance("demo").Ping(); err != nil {
		t.Fatalf("ping: %v", err)
	}
	ch, ok, err := host.Channel("demo")
	if !ok || err != nil {
		t.Fatalf("channel demo: ok=%v err=%v", ok, err)
	}
	if _, err := ch.Send(context.Background(), sdk.Outbound{ID: "o1", Kind: sdk.OutText, Conversation: "room-1", Text: msgs.Messages[0].Text}); err != nil {
		t.Fatal(err)
	}
	got := platform.received()
	if len(got) != 1 || got[0]["chat"] != "room-1" || got[0]["text"] != "echo: hello" {
		t.Fatalf("platform received %v", got)
	}
}

// A SIGKILLed plugin is restarted, /readyz recovers, and webhooks work again.
func TestKilledPluginIsRestarted(t *testing.T) {
	target := newFakeTarget(t)
	d := startDaemon(t, echoChannel(target.URL))
	pid := d.pluginPID("demo")
	if pid == 0 {
		t.Fatal("no plugin pid in /readyz")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Wait until the host noticed, then until it is back.
	deadline := time.Now().Add(15 * time.Second)
	for d.pluginPID("demo") == pid && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := d.WaitReady(15 * time.Second); err != nil {
		t.Fatalf("%v\n%s", err, d.logs)
	}
	var r readyz
	if code := d.do("GET", "/readyz", nil, &r); code != 200 {
		t.Fatalf("readyz %d", code)
	}
	if r.Plugins[0].PID == pid || r.Plugins[0].PID == 0 || r.Plugins[0].Restarts != 1 {
		t.Fatalf("after kill: %+v (old pid %d)", r.Plugins[0], pid)
	}
	if code := postWebhook(t, d.URL, "demo", `{"id":"after-kill","chat":"room-2","text":"still here"}`); code != 200 {
		t.Fatalf("webhook after restart: %d", code)
	}
	if !d.allTexts()["still here"] {
		t.Fatal("webhook after restart was not stored")
	}
}

// A wrong pinned checksum stops the plugin from starting, naming both sums.
func TestWrongChecksumRefusesPlugin(t *testing.T) {
	target := newFakeTarget(t)
	dir := t.TempDir()
	pinned := strings.Repeat("ab", 32)
	path, _ := writeConfig(t, dir, echoChannel(target.URL)+"\n[plugins.sha256]\necho = \""+pinned+"\"\n")
	// TOML forbids defining [plugins] twice, so move the pin into it.
	raw, _ := os.ReadFile(path)
	cfg := strings.Replace(string(raw), "\n[plugins.sha256]\necho = \""+pinned+"\"\n", "", 1)
	cfg = strings.Replace(cfg, "[api]", "[plugins.sha256]\necho = \""+pinned+"\"\n\n[api]", 1)
	os.WriteFile(path, []byte(cfg), 0o600)

	bin, _ := os.ReadFile(filepath.Join(binDir, "plugins", "echo"))
	sum := sha256.Sum256(bin)
	actual := hex.EncodeToString(sum[:])

	cmd := exec.Command(filepath.Join(binDir, "switchboard"), "serve", "--config", path)
	out, err := runWithTimeout(cmd, 20*time.Second)
	if code := exitCode(err); code != 1 {
		t.Fatalf("exit code %d (%v), want 1\n%s", code, err, out)
	}
	for _, want := range []string{"echo", pinned, actual} {
		if !strings.Contains(out, want) {
			t.Errorf("error output does not name %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "plugin started") {
		t.Errorf("the plugin was started:\n%s", out)
	}
}

// Every webhook answered 200 is in the database, even when the daemon is
// SIGKILLed in the middle of a flood of them.
func TestAcknowledgedWebhooksSurviveSIGKILL(t *testing.T) {
	target := newFakeTarget(t)
	d := startDaemon(t, echoChannel(target.URL))

	var (
		mu     sync.Mutex
		acked  []string
		wg     sync.WaitGroup
		killed = make(chan struct{})
	)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-killed:
					return
				default:
				}
				text := fmt.Sprintf("msg-%d-%d", w, i)
				body := fmt.Sprintf(`{"id":%q,"chat":"room-%d","text":%q}`, text, w, text)
				resp, err := http.Post(d.URL+"/webhooks/demo", "application/json", strings.NewReader(body))
				if err != nil {
					continue // the daemon is gone: not acknowledged
				}
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					acked = append(acked, text)
					mu.Unlock()
				}
			}
		}()
	}
	// Kill while the workers are still posting.
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 300 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	d.kill()
	close(killed)
	wg.Wait()
	d.start()

	texts := d.allTexts()
	missing := 0
	for _, text := range acked {
		if !texts[text] {
			missing++
			t.Errorf("acknowledged webhook %s missing after SIGKILL", text)
		}
	}
	t.Logf("%d webhooks acknowledged before the kill, %d missing after restart", len(acked), missing)
}

// SIGTERM stops the daemon cleanly with exit status 0.
func TestSIGTERMExitsCleanly(t *testing.T) {
	target := newFakeTarget(t)
	d := startDaemon(t, echoChannel(target.URL))
	pid := d.pluginPID("demo")
	d.Signal(syscall.SIGTERM)
	select {
	case <-d.Done():
		if err := d.Err(); err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, d.logs)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("daemon did not stop after SIGTERM")
	}
	// Its plugin is gone too.
	time.Sleep(200 * time.Millisecond)
	if syscall.Kill(pid, 0) == nil {
		t.Errorf("plugin process %d still running after shutdown", pid)
	}
}

func TestCommandLine(t *testing.T) {
	bin := filepath.Join(binDir, "switchboard")
	out, err := runWithTimeout(exec.Command(bin, "version"), 10*time.Second)
	if err != nil || !strings.HasPrefix(out, "switchboard ") {
		t.Fatalf("version: %v %q", err, out)
	}

	dir := t.TempDir()
	good, _ := writeConfig(t, dir, echoChannel("http://127.0.0.1:1/replies"))
	out, err = runWithTimeout(exec.Command(bin, "check-config", "--config", good), 10*time.Second)
	if err != nil {
		t.Fatalf("check-config on a good file: %v\n%s", err, out)
	}

	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte(`
[server]
listne = "x"
max_body_bytes = -1
[channels.tg]
plugin = "no-such-plugin"
[plugins]
dir = "`+filepath.Join(binDir, "plugins")+`"
`), 0o600)
	out, err = runWithTimeout(exec.Command(bin, "check-config", "--config", bad), 10*time.Second)
	if exitCode(err) != 1 {
		t.Fatalf("check-config on a bad file: exit %d\n%s", exitCode(err), out)
	}
	for _, key := range []string{"server.listne", "server.max_body_bytes", "channels.tg.plugin"} {
		if !strings.Contains(out, key) {
			t.Errorf("check-config output does not name %s:\n%s", key, out)
		}
	}
}

func runWithTimeout(cmd *exec.Cmd, limit time.Duration) (string, error) {
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		return out.String(), fmt.Errorf("timed out after %v", limit)
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}
