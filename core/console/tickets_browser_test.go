package console

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-chat/switchboard/core/accounts"
	"github.com/switchboard-chat/switchboard/core/internal/browsertest"
	"github.com/switchboard-chat/switchboard/core/store"
)

// The details of a conversation show the visitor's CRM profile and its
// tickets, on a desktop in English and on a phone in Chinese.
func TestProfileAndTicketsInTheBrowser(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts browsertest.Options
		want []string
	}{
		{"desktop-en", browsertest.Options{Width: 1440, Height: 900}, []string{"Email", "vera@example.com", "gold", "Tickets", "#1", "Wrong invoice · open"}},
		{"phone-zh", browsertest.Options{Width: 360, Height: 740, Mobile: true, Language: "zh-CN"}, []string{"邮箱", "gold", "工单", "#1", "Wrong invoice · 待处理"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			b := browsertest.New(t)
			b.Allow("status of 401")
			e.addOperator("ann@example.com", "Ann Lee", accounts.RoleAgent)
			id := e.waiting("900", "my invoice is wrong")
			ctx := context.Background()
			p := &store.Profile{Name: "Vera Visitor", Email: "vera@example.com", Tier: "gold",
				Fields: json.RawMessage(`{"plan":"pro","orders":12}`), FetchedAt: e.st.Now()}
			if err := e.st.SetLookup(ctx, id, e.st.Now(), p); err != nil {
				t.Fatal(err)
			}
			if _, err := e.st.CreateTicket(ctx, store.Ticket{Subject: "Wrong invoice", ConversationID: id}); err != nil {
				t.Fatal(err)
			}
			page := b.Page(tc.opts)
			page.Do(chromedp.Navigate(e.srv.URL + "/console/"))
			signIn(page, "ann@example.com", "password of Ann Lee")
			page.Do(chromedp.Click(chromedp.CSS(`.conv[data-id="` + id + `"]`)))
			page.WaitText("#transcript", "my invoice is wrong")
			if tc.opts.Mobile {
				page.Do(chromedp.Click(chromedp.CSS("#toggle-details")))
			}
			for _, want := range tc.want {
				page.WaitText("#details", want)
			}
			page.WaitText("#details", "Vera Visitor")
			page.WaitText("#details", "orders")
			page.Screenshot("console-profile-tickets-" + tc.name)
			if w := browsertest.Eval[int](page, `document.documentElement.scrollWidth`); int64(w) > tc.opts.Width {
				t.Errorf("the page is %d px wide at %d px: it overflows", w, tc.opts.Width)
			}
		})
	}
}
