package webchat

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/internal/browsertest"
	"github.com/switchboard-chat/switchboard/core/live"
)

// The widget clicked through as a visitor would, in Chromium. Screenshots
// go to bin/screenshots (browsertest.ScreenshotDir).

const xss = `<img src=x onerror=alert(1)>`

// page opens a tab with animations off (prefers-reduced-motion), so
// screenshots show settled pages, and window.alert counted in
// window.__alerts instead of shown, on every page it loads: a script
// injected through a message would leave a mark.
func page(t *testing.T, b *browsertest.Browser, o browsertest.Options) *browsertest.Page {
	t.Helper()
	p := b.Page(o)
	ctx, cancel := context.WithTimeout(p.Context(), 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__alerts = 0; window.alert = () => { window.__alerts++; };`,
	}); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitFor polls a JavaScript condition until it holds, or fails after
// 15 s naming it.
func waitFor(t *testing.T, p *browsertest.Page, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if browsertest.Eval[bool](p, "!!("+expr+")") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s (%s)", what, expr)
}

// bubbles are the texts of the message bubbles under root, in order.
func bubbles(p *browsertest.Page, root string) []string {
	return browsertest.Eval[[]string](p, `Array.from(`+root+`.querySelectorAll('.sb-row:not(.sb-welcome) .sb-bubble, .sb-system-text')).map(e => e.textContent)`)
}

func TestBrowserFullPageChat(t *testing.T) {
	release := make(chan struct{})
	e := newEnv(t, withModel(&fakeModel{
		text:    "Your order #1234 ships tomorrow. You can follow it at https://track.example.com/1234",
		release: release,
	}))
	b := browsertest.New(t)
	p := page(t, b, browsertest.Options{Width: 1280, Height: 800})
	p.Do(chromedp.Navigate(e.URL+"/w/"), chromedp.WaitVisible(chromedp.CSS(".sb-input")))
	p.WaitText(".sb-title", "ACME support")
	p.WaitText(".sb-banner", "AI assistant")
	if got := browsertest.Eval[string](p, "document.title"); got != "ACME support" {
		t.Errorf("page title %q", got)
	}

	// The visitor asks; the bot thinks, then answers.
	p.Do(chromedp.SendKeys(chromedp.CSS(".sb-input"), "Where is my order?\n"))
	p.WaitText(".sb-messages", "Where is my order?")
	waitFor(t, p, "the bot thinking", `!document.querySelector('.sb-typing').hidden`)
	p.WaitText(".sb-typing", "Assistant is thinking")
	p.Screenshot("webchat-desktop-thinking")
	close(release)
	p.WaitText(".sb-messages", "ships tomorrow")
	waitFor(t, p, "the thinking to stop", `document.querySelector('.sb-typing').hidden`)
	if href := browsertest.Eval[string](p, `document.querySelector('.sb-bot .sb-bubble a').href`); href != "https://track.example.com/1234" {
		t.Errorf("the link in the answer goes to %q", href)
	}

	p.Screenshot("webchat-desktop-bot")

	// Over the length limit (50 here): a clear error, nothing sent.
	p.Do(chromedp.SendKeys(chromedp.CSS(".sb-input"), strings.Repeat("x", 51)+"\n"))
	p.WaitText(".sb-error", "This message is too long (51 of 50 characters).")
	if got := e.visitorLines(e.onlyConversation()); len(got) != 1 {
		t.Errorf("visitor lines stored %q, want only the first", got)
	}
	if shown := bubbles(p, "document"); strings.Contains(strings.Join(shown, "\n"), "xxxxx") {
		t.Errorf("the message over the limit is shown as sent: %q", shown)
	}
	browsertest.Eval[bool](p, `(() => { const i = document.querySelector('.sb-input'); i.value = ''; i.dispatchEvent(new Event('input')); return true })()`)
	waitFor(t, p, "the error to go once the text is short again", `document.querySelector('.sb-error').hidden`)

	// Talk to a person: the waiting banner with the place in line.
	p.Do(chromedp.Click(chromedp.CSS(".sb-human")))
	p.WaitText(".sb-banner", "Waiting for a person")
	p.WaitText(".sb-banner", "You're next in line")
	waitFor(t, p, "the button to go", `document.querySelector('.sb-human').hidden`)
	p.Screenshot("webchat-desktop-waiting")

	// An operator takes it, types, answers.
	ctx := context.Background()
	ann := conversation.Operator{ID: "op-ann", Name: "Ann Lee"}
	conv := e.onlyConversation()
	if _, err := e.eng.Do(ctx, conv, conversation.Claimed{Operator: ann}); err != nil {
		t.Fatal(err)
	}
	p.WaitText(".sb-banner", "Ann Lee is here to help")
	e.hub.Publish(live.Signal{Kind: live.Typing, ConversationID: conv, From: live.FromOperator, Data: true})
	p.WaitText(".sb-typing", "Ann Lee is typing")
	if _, err := e.eng.Do(ctx, conv, conversation.OperatorMessage{Operator: ann, Text: "Hi, I'm Ann. I see your order — it left our warehouse this morning."}); err != nil {
		t.Fatal(err)
	}
	p.WaitText(".sb-messages", "left our warehouse")
	p.WaitText(".sb-operator .sb-author", "Ann Lee")
	p.Do(chromedp.SendKeys(chromedp.CSS(".sb-input"), "Great, thank you!\n"))
	p.WaitText(".sb-messages", "Great, thank you!")
	p.Screenshot("webchat-desktop-operator")

	before := bubbles(p, "document")

	// A reload resumes the same chat, each message once.
	p.Do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".sb-input")))
	p.WaitText(".sb-messages", "Great, thank you!")
	p.WaitText(".sb-banner", "Ann Lee is here to help")
	if after := bubbles(p, "document"); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("after a reload:\n%q\nbefore:\n%q", after, before)
	}

	// The operator closes: the visitor rates.
	if _, err := e.eng.Do(ctx, conv, conversation.OperatorClosed{Operator: ann}); err != nil {
		t.Fatal(err)
	}
	p.WaitText(".sb-rate", "How was your chat with Ann Lee?")
	p.WaitText(".sb-banner", "AI assistant")
	p.Do(chromedp.Click(chromedp.CSS(`.sb-star[data-score="4"]`)))
	p.Do(chromedp.SendKeys(chromedp.CSS(".sb-rate-comment"), "Quick and friendly"))
	p.Screenshot("webchat-desktop-rating")
	p.Do(chromedp.Click(chromedp.CSS(".sb-rate-send")))
	p.WaitText(".sb-rate", "Thanks for your feedback!")
	ratings, _ := e.st.Ratings(conv)
	if len(ratings) != 1 || ratings[0].Score != 4 || ratings[0].Comment != "Quick and friendly" || ratings[0].Operator.Name != "Ann Lee" {
		t.Errorf("stored ratings %+v", ratings)
	}

	// Markup, from the visitor or an operator, shows as text and runs
	// nothing.
	p.Do(chromedp.SendKeys(chromedp.CSS(".sb-input"), xss+"\n"))
	p.WaitText(".sb-messages", xss)
	if _, err := e.eng.Do(ctx, conv, conversation.OperatorMessage{Operator: ann, Text: "Please use <b>bold</b> <script>alert(2)</script> nowhere."}); err != nil {
		t.Fatal(err)
	}
	p.WaitText(".sb-messages", "<script>alert(2)</script>")
	if n := browsertest.Eval[int](p, `document.querySelectorAll('.sb-messages img, .sb-messages b, .sb-messages script').length`); n != 0 {
		t.Errorf("%d elements were made from message text", n)
	}
	if n := browsertest.Eval[int](p, "window.__alerts"); n != 0 {
		t.Errorf("alert ran %d times", n)
	}
}

func TestBrowserPhoneInChinese(t *testing.T) {
	// No model: the first message goes to the console's queue.
	e := newEnv(t, withConfig(func(c *Config) { c.MaxMessageChars = 4000 }))
	b := browsertest.New(t)
	p := page(t, b, browsertest.Options{Width: 360, Height: 740, Mobile: true, Language: "zh-CN"})
	p.Do(chromedp.Navigate(e.URL+"/w/"), chromedp.WaitVisible(chromedp.CSS(".sb-input")))
	if got := browsertest.Eval[string](p, `document.querySelector('.sb-input').placeholder`); got != "输入消息…" {
		t.Errorf("placeholder %q", got)
	}
	p.WaitText(".sb-banner", "智能助手")
	p.WaitText(".sb-human", "转人工客服")
	p.Screenshot("webchat-phone-zh-start")
	p.Do(chromedp.SendKeys(chromedp.CSS(".sb-input"), "你好，我上周买的外套还没收到，能帮我查一下吗？"))
	p.Do(chromedp.Click(chromedp.CSS(".sb-send")))
	p.WaitText(".sb-messages", "能帮我查一下吗")
	p.WaitText(".sb-banner", "正在为您转接人工客服")
	p.WaitText(".sb-banner", "您是下一位")
	p.Screenshot("webchat-phone-zh-waiting")

	// A long line without spaces wraps; markup shows as text.
	long := "订单号" + strings.Repeat("A1B2C3D4", 12)
	p.Do(chromedp.SendKeys(chromedp.CSS(".sb-input"), long))
	p.Do(chromedp.Click(chromedp.CSS(".sb-send")))
	p.WaitText(".sb-messages", long)
	p.Do(chromedp.SendKeys(chromedp.CSS(".sb-input"), xss))
	p.Do(chromedp.Click(chromedp.CSS(".sb-send")))
	p.WaitText(".sb-messages", xss)
	if n := browsertest.Eval[int](p, `document.querySelectorAll('.sb-messages img').length`); n != 0 {
		t.Errorf("an image was made from message text")
	}
	if w := browsertest.Eval[int](p, "document.documentElement.scrollWidth"); w > 360 {
		t.Errorf("the page is %d px wide at 360 px: something overflows", w)
	}
	for _, sel := range []string{".sb-header", ".sb-banner", ".sb-footer", ".sb-visitor .sb-bubble"} {
		if r := browsertest.Eval[float64](p, `Math.max(...Array.from(document.querySelectorAll('`+sel+`')).map(e => e.getBoundingClientRect().right))`); r > 360.5 {
			t.Errorf("%s reaches %.0f px at 360 px wide", sel, r)
		}
	}
	p.Screenshot("webchat-phone-zh-overflow")
}

// hostPage is a shop's page on another origin that embeds the widget.
func hostPage(t *testing.T, daemon *string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>ACME Shop</title>
<style>body{margin:0;font:16px/1.5 Georgia,serif;color:#222;background:#fbfaf7}
header{padding:18px 40px;background:#1f3a2e;color:#fff;font-size:22px}main{padding:32px 40px;max-width:720px}
.card{display:inline-block;width:200px;height:140px;margin:0 16px 16px 0;background:#e8e2d5;border-radius:8px}</style>
</head><body><header>ACME Shop</header><main><h1>Autumn collection</h1>
<p>Warm coats, soft scarves and boots for the rainy days ahead. Free delivery over 50 €.</p>
<div class="card"></div><div class="card"></div><div class="card"></div>
<p class="sb-bubble">The shop's own .sb-bubble class must not leak into the widget.</p></main>
<script>window.SwitchboardChat = {language: %q};</script>
<script src="%s/w/widget.js" async></script></body></html>`, r.URL.Query().Get("lang"), *daemon)
	}))
	t.Cleanup(srv.Close)
	// localhost and 127.0.0.1 are different origins.
	return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
}

func TestBrowserWidgetOnAnotherSite(t *testing.T) {
	var daemon string
	shop := hostPage(t, &daemon)
	e := newEnv(t,
		withModel(&fakeModel{text: "Our coats run true to size. Anything else I can help with?"}),
		withConfig(func(c *Config) { c.AllowedOrigins = []string{shop} }))
	daemon = e.URL
	const root = `document.querySelector('#switchboard-chat').shadowRoot`
	sh := func(sel string) chromedp.JSPath { return chromedp.JSPath(root + `.querySelector('` + sel + `')`) }

	b := browsertest.New(t)
	p := page(t, b, browsertest.Options{Width: 1280, Height: 800})
	p.Do(chromedp.Navigate(shop+"/"), chromedp.WaitVisible(sh(".sb-launcher")))
	if browsertest.Eval[bool](p, root+`.querySelector('.sb-panel').hidden !== true`) {
		t.Fatal("the panel is open before the visitor asked")
	}
	p.Screenshot("webchat-embed-closed")
	p.Do(chromedp.Click(sh(".sb-launcher")), chromedp.WaitVisible(sh(".sb-input")))
	p.Do(chromedp.SendKeys(sh(".sb-input"), "Do your coats run small?\n"))
	waitFor(t, p, "the answer", root+`.querySelector('.sb-messages').textContent.includes('true to size')`)
	p.Screenshot("webchat-embed-open")
	p.Do(chromedp.SendKeys(sh(".sb-input"), xss+"\n"))
	waitFor(t, p, "the markup shown as text", root+`.querySelector('.sb-messages').textContent.includes('`+xss+`')`)
	if n := browsertest.Eval[int](p, root+`.querySelectorAll('.sb-messages img').length + document.querySelectorAll('img').length`); n != 0 {
		t.Errorf("an image was made from message text")
	}
	// The shop's styles stay outside the widget, and the widget's inside.
	if bg := browsertest.Eval[string](p, `getComputedStyle(document.querySelector('main .sb-bubble')).backgroundColor`); bg != "rgba(0, 0, 0, 0)" {
		t.Errorf("the widget's style reached the shop's page: %s", bg)
	}
	if font := browsertest.Eval[string](p, `getComputedStyle(`+root+`.querySelector('.sb-bubble')).fontFamily`); strings.Contains(font, "Georgia") {
		t.Errorf("the shop's font reached the widget: %s", font)
	}

	// Minimized, a reply raises the badge; the chat survives a reload.
	p.Do(chromedp.Click(sh(".sb-minimize")))
	waitFor(t, p, "the panel to close", root+`.querySelector('.sb-panel').hidden`)
	p.Do(chromedp.Reload(), chromedp.WaitVisible(sh(".sb-launcher")))
	conv := e.onlyConversation()
	waitFor(t, p, "the stream to catch up", root+`.querySelector('.sb-root').classList.contains('sb-synced')`)
	if _, err := e.eng.Do(context.Background(), conv, conversation.OperatorMessage{Operator: conversation.Operator{Name: "Sam"}, Text: "Sam here, I can also check your size."}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, p, "the unread badge", root+`.querySelector('.sb-badge').textContent === '1' && !`+root+`.querySelector('.sb-badge').hidden`)
	p.Screenshot("webchat-embed-unread")
	p.Do(chromedp.Click(sh(".sb-launcher")))
	waitFor(t, p, "the whole chat back", root+`.querySelector('.sb-messages').textContent.includes('Do your coats run small?')`)
	if got := bubbles(p, root); len(got) != 5 {
		t.Errorf("after the reload the chat shows %q, want the 5 messages once each", got)
	}
	if n := browsertest.Eval[int](p, "window.__alerts"); n != 0 {
		t.Errorf("alert ran %d times", n)
	}
}

func TestBrowserWidgetOnAPhone(t *testing.T) {
	var daemon string
	shop := hostPage(t, &daemon)
	e := newEnv(t, withConfig(func(c *Config) { c.AllowedOrigins = []string{shop}; c.Color = "#0b7285" }))
	daemon = e.URL
	const root = `document.querySelector('#switchboard-chat').shadowRoot`
	sh := func(sel string) chromedp.JSPath { return chromedp.JSPath(root + `.querySelector('` + sel + `')`) }
	b := browsertest.New(t)
	p := page(t, b, browsertest.Options{Width: 360, Height: 740, Mobile: true, Language: "zh-CN"})
	p.Do(chromedp.Navigate(shop+"/"), chromedp.WaitVisible(sh(".sb-launcher")))
	p.Do(chromedp.Click(sh(".sb-launcher")), chromedp.WaitVisible(sh(".sb-input")))
	rect := browsertest.Eval[[]float64](p, `(r => [r.left, r.top, r.width, r.height])(`+root+`.querySelector('.sb-panel').getBoundingClientRect())`)
	if rect[0] != 0 || rect[1] != 0 || rect[2] != 360 || rect[3] != 740 {
		t.Errorf("the open widget covers %v on a 360×740 phone, want the whole screen", rect)
	}
	p.Do(chromedp.Click(sh(".sb-human")))
	waitFor(t, p, "the waiting banner", root+`.querySelector('.sb-banner').textContent.includes('正在为您转接人工客服')`)
	p.Screenshot("webchat-embed-phone-zh")
}
