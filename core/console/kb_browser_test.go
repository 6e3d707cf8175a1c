package console

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-chat/switchboard/core/accounts"
	"github.com/switchboard-chat/switchboard/core/internal/browsertest"
	"github.com/switchboard-chat/switchboard/core/kb"
	"github.com/switchboard-chat/switchboard/core/store"
)

// An administrator reads the questions the bot could not answer, writes
// an answer for one and dismisses another; the bot answers the visitor's
// words from then on. On a desktop in English and on a phone in Chinese.
func TestAnsweringGapsInTheBrowser(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		opts                    browsertest.Options
		asked, question, answer string
		dismiss, saved          string
	}{
		{"desktop-en", browsertest.Options{Width: 1440, Height: 900},
			"do u sell dog beds", "Do you sell pet supplies?", "No, we sell kitchenware and home goods only.",
			"你们卖狗窝吗", "The bot now answers"},
		{"phone-zh", browsertest.Options{Width: 360, Height: 740, Mobile: true, Language: "zh-CN"},
			"你们卖狗窝吗", "你们卖宠物用品吗？", "不卖，我们只卖厨房用品和家居用品。",
			"do u sell dog beds", "机器人现在会用它回答"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			ins, err := kb.ReadSources([]string{"../../examples/kb"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.kb.ImportAll(ctx, ins); err != nil {
				t.Fatal(err)
			}
			for q, n := range map[string]int{"do u sell dog beds": 3, "你们卖狗窝吗": 2, "is there parking at the showroom": 1} {
				for range n {
					if err := e.st.RecordKBGap(ctx, q, store.GapHandoff, 0.2); err != nil {
						t.Fatal(err)
					}
				}
			}
			b := browsertest.New(t)
			b.Allow("status of 401")
			e.addOperator("boss@example.com", "Bo Ss", accounts.RoleAdmin)
			p := b.Page(tc.opts)
			p.Do(chromedp.Navigate(e.srv.URL + "/console/"))
			signIn(p, "boss@example.com", "password of Bo Ss")
			p.Do(chromedp.Click(chromedp.CSS("#open-gaps")))
			p.WaitText("#dialog .gap-list", tc.asked)
			p.WaitText("#dialog .gap-list", "is there parking")
			p.Screenshot("console-gaps-" + tc.name)
			overflow(t, p, tc.opts.Width)

			clickRow := `[...document.querySelectorAll(".gap-row")].find((r) => r.textContent.includes(%s)).querySelector(%s).click() || true`
			browsertest.Eval[bool](p, fmt.Sprintf(clickRow, strconv.Quote(tc.asked), strconv.Quote(".btn-primary")))
			p.WaitText("#dialog", tc.asked)
			// The question as the FAQ should put it, in place of the visitor's.
			browsertest.Eval[bool](p, `(document.getElementById("gap-question").value = "", true)`)
			p.Do(
				chromedp.SendKeys(chromedp.CSS("#gap-question"), tc.question),
				chromedp.SendKeys(chromedp.CSS("#gap-answer"), tc.answer),
			)
			p.Screenshot("console-gap-answer-" + tc.name)
			overflow(t, p, tc.opts.Width)
			p.Do(chromedp.Click(chromedp.CSS("#gap-save")))
			p.WaitText("#toasts", tc.saved)
			p.Screenshot("console-gap-saved-" + tc.name)
			p.WaitText("#dialog .gap-list", "is there parking")
			if browsertest.Eval[bool](p, fmt.Sprintf(`document.getElementById("dialog").textContent.includes(%s)`, strconv.Quote(tc.asked))) {
				t.Errorf("%q is still listed after its answer", tc.asked)
			}
			d, err := answers{e.kb}.Decide(ctx, tc.asked)
			if err != nil || d.Outcome != kb.Answer || d.Entry.Text != tc.answer {
				t.Errorf("the bot, asked %q: %v %q %v", tc.asked, d.Outcome, d.Entry.Title, err)
			}

			browsertest.Eval[bool](p, fmt.Sprintf(clickRow, strconv.Quote(tc.dismiss), strconv.Quote(".btn-ghost")))
			e.eventually("the dismissed question gone", func() bool {
				gaps, _ := e.st.KBGaps(0)
				return len(gaps) == 1 && gaps[0].Question == "is there parking at the showroom"
			})
			p.WaitText("#dialog .gap-list", "is there parking")
		})
	}
}

// overflow fails the test when the page is wider than the window.
func overflow(t *testing.T, p *browsertest.Page, width int64) {
	t.Helper()
	if w := browsertest.Eval[int](p, `document.documentElement.scrollWidth`); int64(w) > width {
		t.Errorf("the page is %d px wide at %d px: it overflows", w, width)
	}
}
