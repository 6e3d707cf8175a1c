package browsertest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/chromedp/chromedp"
)

const page = `<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1"></head><body>
<p id="lang"></p><button id="b">Say hi</button><p id="out"></p>
<script>
document.getElementById('lang').textContent = navigator.language + ' ' + innerWidth;
document.getElementById('b').addEventListener('click', () => {
  document.getElementById('out').textContent = 'hi';
  if (location.hash === '#fail') { throw new Error('boom'); }
});
</script></body></html>`

func serve(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(page))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestClickLanguageAndScreenshot(t *testing.T) {
	url := serve(t)
	b := New(t)
	p := b.Page(Options{Width: 360, Height: 740, Mobile: true, Language: "zh-CN"})
	p.Do(chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#b")), chromedp.Click(chromedp.CSS("#b")))
	p.WaitText("#out", "hi")
	if got := p.Text("#lang"); got != "zh-CN 360" {
		t.Errorf("language and width %q, want zh-CN 360", got)
	}
	if got := Eval[int](p, "innerWidth"); got != 360 {
		t.Errorf("innerWidth %d", got)
	}
	path := p.Screenshot("browsertest-self-check")
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		t.Errorf("screenshot %s: %v", path, err)
	}
	os.Remove(path)
}

func TestJavaScriptErrorsAreCollected(t *testing.T) {
	url := serve(t)
	b := New(t)
	p := b.Page(Options{})
	p.Do(chromedp.Navigate(url+"/#fail"), chromedp.Click(chromedp.CSS("#b")))
	p.WaitText("#out", "hi")
	deadline := 0
	var errs []string
	for len(errs) == 0 && deadline < 100 {
		errs = b.Errors()
		chromedp.Run(p.Context(), chromedp.Sleep(20e6))
		deadline++
	}
	if len(errs) != 1 {
		t.Fatalf("errors %q, want the one thrown", errs)
	}
}
