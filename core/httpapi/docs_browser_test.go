package httpapi_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-chat/switchboard/core/internal/browsertest"
)

// The reference page at /docs renders the served document: every tag and
// route shows, on a desktop and on a phone, with no script or policy
// error in the browser's console.
func TestDocsPageInTheBrowser(t *testing.T) {
	srv := plainServer(t)

	b := browsertest.New(t)
	p := b.Page(browsertest.Options{})
	p.Do(chromedp.Navigate(srv.URL + "/docs"))
	p.WaitText("#nav", "/v1/conversations/{id}/messages")
	for _, want := range []string{"Conversations", "Web chat", "Operator console", "/oauth/token", "/w/v1/session", "/op/v1/login", "/v1/admin/oauth-clients"} {
		p.WaitText("#nav", want)
	}
	p.WaitText("#op-createConversation", "Open a conversation on the api channel")
	p.WaitText("#op-createConversation", "conversations:write")
	p.WaitText("#op-token", "client_credentials")
	p.WaitText("#schema-Error", "message")
	p.Screenshot("docs-desktop")
	p.Do(chromedp.Click(chromedp.CSS(`#nav a[href="#op-token"]`)))
	p.WaitText("#op-token h3", "/oauth/token")
	p.Screenshot("docs-desktop-token")

	phone := browsertest.New(t).Page(browsertest.Options{Width: 390, Height: 844, Mobile: true, Language: "zh-CN"})
	phone.Do(chromedp.Navigate(srv.URL + "/docs/"))
	phone.WaitText("#nav", "/w/v1/events")
	phone.Screenshot("docs-phone-top")
	phone.Do(chromedp.Navigate(srv.URL + "/docs/#op-visitorEvents"))
	phone.WaitText("#op-visitorEvents", "/w/v1/events")
	phone.Screenshot("docs-phone")
}
