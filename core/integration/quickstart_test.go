package integration

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-chat/switchboard/core/internal/browsertest"
)

// shippedConfig is the repository's config.toml from its first channel
// on (the test's daemon writes its own [server], [log], [plugins] and
// [api]), with the knowledge base's folder made absolute and the model
// server pointed at a closed port: a machine with no model installed.
func shippedConfig(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../../config.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(data)
	i := strings.Index(cfg, "\n[channels.demo]")
	if i < 0 {
		t.Fatal("config.toml has no [channels.demo]")
	}
	cfg = cfg[i:]
	kb, err := filepath.Abs("../../examples/kb")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	for old, repl := range map[string]string{
		`sources = ["examples/kb"]`:       `sources = [` + quote(kb) + `]`,
		`host = "http://127.0.0.1:11434"`: `host = ` + quote(closed),
	} {
		if !strings.Contains(cfg, old) {
			t.Fatalf("config.toml has no %s", old)
		}
		cfg = strings.Replace(cfg, old, repl, 1)
	}
	return cfg
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// The README's three steps, in the browser, on the shipped config with no
// model installed: chat at /w/, open the setup link from the log, create
// the first administrator, claim the conversation and answer; the visitor
// sees the reply, and rates the operator after the close.
func TestQuickStartOfTheREADME(t *testing.T) {
	// Serving, not ready: /readyz reports the missing model server.
	d := startDaemonAt(t, shippedConfig(t), "/healthz")

	// 2. Open /w/ and chat.
	visitor := browsertest.New(t)
	p := visitor.Page(browsertest.Options{Width: 1280, Height: 800})
	p.Do(chromedp.Navigate(d.URL+"/w/"), chromedp.WaitVisible(chromedp.CSS(".sb-input")))
	p.WaitText(".sb-title", "ACME support")
	p.Do(chromedp.SendKeys(chromedp.CSS(".sb-input"), "Hello, where is my order 5521?\n"))
	p.WaitText(".sb-messages", "I'm connecting you with a colleague")
	p.WaitText(".sb-banner", "Waiting for a person")

	// 3. The setup link from the log: the first administrator.
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		m = setupURL.FindStringSubmatch(d.logs.String())
	}
	if m == nil {
		t.Fatalf("no setup link in the log:\n%s", d.logs)
	}
	console := browsertest.New(t)
	console.Allow("status of 401") // the page asks whether it is signed in
	c := console.Page(browsertest.Options{Width: 1440, Height: 900})
	c.Do(chromedp.Navigate(m[1]))
	c.WaitText("#auth-title", "Create the first administrator")
	c.Do(
		chromedp.SendKeys(chromedp.CSS("#auth-name"), "Ann Lee"),
		chromedp.SendKeys(chromedp.CSS("#auth-email"), "ann@example.com"),
		chromedp.SendKeys(chromedp.CSS("#auth-password"), "a long password"),
		chromedp.Click(chromedp.CSS("#auth-submit")),
		chromedp.WaitVisible(chromedp.CSS("#app")),
	)
	c.WaitText("#list-title", "Waiting for a person")
	c.WaitText("#conv-list", "The model was unavailable")
	c.WaitText("#count-waiting", "1")
	c.Do(chromedp.Click(chromedp.CSS("#conv-list .conv")))
	c.WaitText("#transcript", "Hello, where is my order 5521?")
	c.WaitText("#details", "The model was unavailable")
	c.Do(chromedp.Click(chromedp.CSS(`#chat-actions [data-action="claim"]`)))
	c.WaitText("#chat-state", "With a person")
	p.WaitText(".sb-banner", "Ann Lee is here to help")
	c.Do(chromedp.SendKeys(chromedp.CSS("#composer-text"), "Hi, Ann here. Order 5521 left our warehouse this morning.\r"))
	p.WaitText(".sb-messages", "Order 5521 left our warehouse this morning.")

	// The visitor answers; the operator sees it and closes.
	p.Do(chromedp.SendKeys(chromedp.CSS(".sb-input"), "Great, thanks!\n"))
	c.WaitText("#transcript", "Great, thanks!")
	c.Do(chromedp.Click(chromedp.CSS(`#chat-actions [data-action="close"]`)))
	p.WaitText(".sb-rate", "How was your chat with Ann Lee?")
	p.Do(chromedp.Click(chromedp.CSS(`.sb-star[data-score="5"]`)), chromedp.Click(chromedp.CSS(".sb-rate-send")))
	p.WaitText(".sb-rate", "Thanks for your feedback!")
	c.WaitText("#transcript", "The visitor rated the conversation 5/5.")
	p.Screenshot("quickstart-widget-rated")
	c.Screenshot("quickstart-console")
}
