// Package browsertest drives a real browser (Chromium, through the Chrome
// DevTools Protocol with chromedp) for the tests of the web chat and the
// console: pages are clicked as a person would, JavaScript errors fail the
// test, and screenshots are saved for a person to look at.
//
// Tests skip when no Chromium is installed, unless SWITCHBOARD_BROWSER_TESTS
// is "require" (CI sets it, so a missing browser fails there instead of
// passing silently).
//
// A test reads:
//
//	b := browsertest.New(t)
//	p := b.Page(browsertest.Options{Width: 360, Height: 740, Mobile: true, Language: "zh-CN"})
//	p.Do(chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#composer")))
//	p.Do(chromedp.SendKeys(chromedp.CSS("#composer textarea"), "hello\n"))
//	p.WaitText(".messages", "hello")
//	p.Screenshot("widget-phone-zh")
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// candidates are the names Chromium is installed under.
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Executable finds the browser: $CHROMIUM if set, else the first of the
// usual names on PATH; "" when there is none.
func Executable() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range candidates {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Browser is one headless browser process for a test.
type Browser struct {
	t      testing.TB
	alloc  context.Context
	mu     sync.Mutex
	errs   []string
	shots  string
	allows []string
}

// New starts a headless browser, or skips the test when none is installed
// (fails instead when SWITCHBOARD_BROWSER_TESTS=require). The browser is
// closed when the test ends, and every JavaScript error its pages showed
// fails the test then.
func New(t testing.TB) *Browser {
	t.Helper()
	exe := Executable()
	if exe == "" {
		if os.Getenv("SWITCHBOARD_BROWSER_TESTS") == "require" {
			t.Fatal("no Chromium found (install Debian's chromium package, or set CHROMIUM)")
		}
		t.Skip("no Chromium found; install Debian's chromium package to run the browser tests")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.DisableGPU,
		chromedp.NoSandbox, // CI runs tests as root
		// The machine's network is closed: background fetches would only
		// fail, slowly.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.WindowSize(1280, 800),
	}
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &Browser{t: t, alloc: alloc, shots: ScreenshotDir()}
	t.Cleanup(func() {
		cancel()
		for _, e := range b.Errors() {
			t.Errorf("browser console: %s", e)
		}
	})
	return b
}

// Allow keeps console errors containing text from failing the test (a
// test that provokes an expected error, such as a refused request).
func (b *Browser) Allow(text string) {
	b.mu.Lock()
	b.allows = append(b.allows, text)
	b.mu.Unlock()
}

// Errors returns the JavaScript errors seen so far and forgets them.
func (b *Browser) Errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	errs := b.errs
	b.errs = nil
	return errs
}

func (b *Browser) report(msg string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, a := range b.allows {
		if strings.Contains(msg, a) {
			return
		}
	}
	b.errs = append(b.errs, msg)
}

// ScreenshotDir is where screenshots go: $SWITCHBOARD_SCREENSHOTS, or
// bin/screenshots under the repository root.
func ScreenshotDir() string {
	if d := os.Getenv("SWITCHBOARD_SCREENSHOTS"); d != "" {
		return d
	}
	dir, _ := os.Getwd()
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil && filepath.Base(d) != "sdk" {
			return filepath.Join(d, "bin", "screenshots")
		}
	}
	return filepath.Join(os.TempDir(), "switchboard-screenshots")
}

// Options of a new page.
type Options struct {
	// Width and Height of the viewport; defaults 1280×800.
	Width, Height int64
	// Mobile emulates a phone (touch, device scale factor 2).
	Mobile bool
	// Language is the browser's preferred language (navigator.language and
	// Accept-Language), e.g. "zh-CN"; default "en-US".
	Language string
}

// Page is one browser tab.
type Page struct {
	b   *Browser
	ctx context.Context
}

// startAttempts is how many times a browser that crashes before it listens
// is started: Chromium, started as root without a sandbox in a container,
// now and then crashes at startup, before loading any page.
const startAttempts = 2

// start starts the browser and its tab. They live as long as the returned
// context: the first call is made on it, not on one with a time limit.
func (b *Browser) start() context.Context {
	b.t.Helper()
	for attempt := 1; ; attempt++ {
		ctx, cancel := chromedp.NewContext(b.alloc)
		err := chromedp.Do(ctx)
		if err == nil {
			b.t.Cleanup(cancel)
			return ctx
		}
		cancel()
		// chromedp says so only in the message: the process ended before
		// it printed where it listens.
		if attempt == startAttempts || !strings.Contains(err.Error(), "chrome failed to start") {
			b.t.Fatalf("browser: start: %v", err)
		}
		b.t.Logf("browser: crashed at startup, starting it again: %v", err)
	}
}

// Page opens a new tab. Uncaught exceptions and console errors on it are
// collected and fail the test when it ends.
func (b *Browser) Page(o Options) *Page {
	b.t.Helper()
	if o.Width == 0 {
		o.Width, o.Height = 1280, 800
	}
	if o.Language == "" {
		o.Language = "en-US"
	}
	ctx := b.start()
	p := &Page{b: b, ctx: ctx}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == "error" {
				b.report(m.String())
			}
		}
	}()
	opts := []chromedp.EmulateViewportOption{}
	if o.Mobile {
		opts = append(opts, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	p.Do(chromedp.EmulateViewport(o.Width, o.Height, opts...))
	p.call(func(ctx context.Context) error {
		if _, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome Switchboard-Test", AcceptLanguage: o.Language,
		}); err != nil {
			return fmt.Errorf("language: %w", err)
		}
		_, err := chromedp.Call(ctx, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: strings.ReplaceAll(o.Language, "-", "_")})
		return err
	})
	return p
}

// Context is the tab's chromedp context, for actions this package has no
// helper for (chromedp.Run(p.Context(), …)).
func (p *Page) Context() context.Context { return p.ctx }

// Do runs chromedp actions with a time limit, failing the test on error.
// A single action whose element the page replaced between finding it and
// acting on it (a list re-rendered by a live update) is tried again, as a
// person would click again.
func (p *Page) Do(actions ...chromedp.Action[chromedp.Void]) {
	p.b.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	err := chromedp.Do(ctx, actions...)
	for try := 0; err != nil && len(actions) == 1 && nodeReplaced(err) && try < 3; try++ {
		err = chromedp.Do(ctx, actions...)
	}
	if err != nil {
		p.b.t.Fatalf("browser: %v", err)
	}
}

// nodeReplaced reports whether err is the browser's answer about a node
// that left the document after it was found (a generic server error, code
// -32000, from the DevTools protocol).
func nodeReplaced(err error) bool {
	var perr *cdproto.Error
	return errors.As(err, &perr) && perr.Code == -32000
}

func (p *Page) call(f func(ctx context.Context) error) {
	p.b.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if err := f(ctx); err != nil {
		p.b.t.Fatalf("browser: %v", err)
	}
}

// Eval evaluates a JavaScript expression and decodes its value into T.
func Eval[T any](p *Page, expr string) T {
	p.b.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.b.t.Fatalf("browser: evaluate %s: %v", expr, err)
	}
	return v
}

// Screenshot saves the viewport as <dir>/<name>.png and returns the path.
func (p *Page) Screenshot(name string) string {
	p.b.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.b.t.Fatalf("browser: screenshot: %v", err)
	}
	if err := os.MkdirAll(p.b.shots, 0o755); err != nil {
		p.b.t.Fatal(err)
	}
	path := filepath.Join(p.b.shots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.b.t.Fatal(err)
	}
	return path
}

// Text returns the text of the first element matching the CSS selector
// sel, waiting for it to exist.
func (p *Page) Text(sel string) string {
	p.b.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.b.t.Fatalf("browser: text of %s: %v", sel, err)
	}
	return s
}

// WaitText waits until the first element matching sel shows text
// containing want, or fails after 15 s naming what it saw.
func (p *Page) WaitText(sel, want string) {
	p.b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
		s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
		cancel()
		if err == nil {
			last = s
			if strings.Contains(s, want) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.b.t.Fatalf("%s never showed %q; last text %q", sel, want, last)
}
