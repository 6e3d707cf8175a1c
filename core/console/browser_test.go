package console

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/switchboard-chat/switchboard/core/accounts"
	"github.com/switchboard-chat/switchboard/core/internal/browsertest"
	"github.com/switchboard-chat/switchboard/core/live"
	"github.com/switchboard-chat/switchboard/core/routing"
	"github.com/switchboard-chat/switchboard/core/store"
)

const xss = "<img src=x onerror=alert(1)>"

// signIn fills the sign-in form and waits for the console.
func signIn(p *browsertest.Page, email, password string) {
	p.Do(
		chromedp.WaitVisible(chromedp.CSS("#auth-email")),
		chromedp.SendKeys(chromedp.CSS("#auth-email"), email),
		chromedp.SendKeys(chromedp.CSS("#auth-password"), password),
		chromedp.Click(chromedp.CSS("#auth-submit")),
		chromedp.WaitVisible(chromedp.CSS("#app")),
	)
}

func (e *env) addOperator(email, name, role string) {
	e.t.Helper()
	if _, err := e.acc.Add(context.Background(), accounts.NewOperator{Email: email, Name: name, Role: role, Password: "password of " + name}, nil); err != nil {
		e.t.Fatal(err)
	}
}

// An operator signs in, sees a visitor start waiting without reloading,
// claims the conversation, replies, writes a note, inserts a saved reply
// by its shortcut and closes; a visitor's markup shows as text.
func TestConsoleInTheBrowser(t *testing.T) {
	e := newEnv(t)
	b := browsertest.New(t)
	b.Allow("status of 401") // the page asks whether it is signed in
	e.addOperator("ann@example.com", "Ann Lee", accounts.RoleAgent)
	err := e.st.Update(context.Background(), func(tx *store.Tx) error {
		return store.PutCannedReplyTx(tx, &store.CannedReply{Shortcut: "thanks", Text: "Thanks for waiting, I'm on it."})
	})
	if err != nil {
		t.Fatal(err)
	}
	p := b.Page(browsertest.Options{Width: 1440, Height: 900})
	// Desktop notifications allowed and recorded; the chime's tones
	// counted (the page plays them with the Web Audio API).
	if _, err := chromedp.Call(p.Context(), cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__notes = []; window.__tones = 0;
window.Notification = class { constructor(title, o) { window.__notes.push(title + ' | ' + o.body); } close() {} };
window.Notification.permission = 'granted';
window.Notification.requestPermission = async () => 'granted';
const osc = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () { window.__tones++; return osc.call(this); };`,
	}); err != nil {
		t.Fatal(err)
	}
	p.Do(chromedp.Navigate(e.srv.URL + "/console/"))
	p.WaitText("#auth-title", "Sign in")
	p.Screenshot("console-login")
	p.Do(chromedp.SendKeys(chromedp.CSS("#auth-email"), "ann@example.com"), chromedp.SendKeys(chromedp.CSS("#auth-password"), "wrong password"),
		chromedp.Click(chromedp.CSS("#auth-submit")))
	p.WaitText("#auth-error", "Wrong email or password")
	browsertest.Eval[bool](p, `(document.getElementById("auth-password").value = "", true)`)
	signIn(p, "", "password of Ann Lee")
	p.WaitText("#list-empty-text", "Nobody is waiting")

	id := e.waiting("700", xss)
	p.WaitText("#conv-list", "Visitor 700")
	p.WaitText("#count-waiting", "1")
	// A conversation started waiting: a chime and a desktop notification.
	if notes := browsertest.Eval[[]string](p, "window.__notes"); len(notes) != 1 || !strings.Contains(notes[0], "Visitor 700") {
		t.Errorf("desktop notifications %q, want one naming Visitor 700", notes)
	}
	if tones := browsertest.Eval[int](p, "window.__tones"); tones != 2 {
		t.Errorf("the chime played %d tones, want 2", tones)
	}
	p.Do(chromedp.Click(chromedp.CSS(`.conv[data-id="` + id + `"]`)))
	p.WaitText("#transcript", xss)
	if n := browsertest.Eval[int](p, `document.querySelectorAll("#transcript img, #conv-list img").length`); n != 0 {
		t.Fatalf("the visitor's markup made %d img elements", n)
	}
	p.WaitText("#details", "Visitor 700 on tg needs a human")
	p.Do(chromedp.Click(chromedp.CSS(`#chat-actions [data-action="claim"]`)))
	p.WaitText("#chat-state", "With a person")

	e.live.Publish(live.Signal{Kind: live.Typing, ConversationID: id, From: "visitor"})
	p.WaitText("#typing-text", "The visitor is typing")

	p.Do(chromedp.SendKeys(chromedp.CSS("#composer-text"), "Hello, this is Ann from support.\r"))
	p.WaitText("#transcript .msg-operator:last-of-type .bubble", "Hello, this is Ann")
	p.Do(chromedp.Click(chromedp.CSS("#mode-note")), chromedp.SendKeys(chromedp.CSS("#composer-text"), "Customer since 2019, be generous.\r"))
	p.WaitText("#transcript .msg-note .bubble", "Customer since 2019")
	p.Do(chromedp.Click(chromedp.CSS("#mode-reply")), chromedp.SendKeys(chromedp.CSS("#composer-text"), "/tha"))
	p.WaitText("#canned-menu", "/thanks")
	p.Screenshot("console-canned-menu")
	p.Do(chromedp.SendKeys(chromedp.CSS("#composer-text"), "\r"))
	// (DevTools types Enter's newline as a separate event that the page's
	// keydown handler cannot cancel, hence the trim.)
	if got := browsertest.Eval[string](p, `document.getElementById("composer-text").value.trim()`); got != "Thanks for waiting, I'm on it." {
		t.Fatalf("the composer holds %q after picking the saved reply", got)
	}
	p.Do(chromedp.SendKeys(chromedp.CSS("#composer-text"), "\r"))
	p.WaitText("#transcript", "Thanks for waiting, I'm on it.")
	e.eventually("the replies on Telegram", func() bool { return len(e.tg.chat("700")) == 3 })
	second := e.waiting("701", "Can I still change the delivery address of order 5521?")
	p.Do(chromedp.Click(chromedp.CSS(`.nav-item[data-view="open"]`)))
	p.WaitText("#conv-list", "Visitor 701")
	// The mark follows the line's event, which may come just after the
	// conversation's: wait for it (the step fails after its time limit).
	p.Do(chromedp.WaitVisible(chromedp.CSS(`.conv[data-id="` + second + `"].unread`)))
	p.Screenshot("console-desktop-en")

	// A smaller laptop: the details fold away behind a button.
	b2 := browsertest.New(t) // a browser runs one page
	b2.Allow("status of 401")
	small := b2.Page(browsertest.Options{Width: 1024, Height: 720})
	small.Do(chromedp.Navigate(e.srv.URL + "/console/"))
	signIn(small, "ann@example.com", "password of Ann Lee")
	small.Do(chromedp.Click(chromedp.CSS(`.nav-item[data-view="open"]`)))
	small.WaitText("#conv-list", "Visitor 701")
	small.Do(chromedp.Click(chromedp.CSS(`.conv[data-id="` + id + `"]`)))
	small.WaitText("#transcript", "Thanks for waiting")
	small.Screenshot("console-laptop-en")
	if w := browsertest.Eval[int](small, `document.documentElement.scrollWidth`); w > 1024 {
		t.Errorf("the console is %d px wide at 1024 px", w)
	}
	p.Do(chromedp.Click(chromedp.CSS(`.nav-item[data-view="mine"]`)))

	p.Do(chromedp.Click(chromedp.CSS(`#chat-actions [data-action="close"]`)))
	p.WaitText("#chat-state", "Bot")
	e.eventually("the closing message", func() bool { return len(e.tg.chat("700")) == 4 })
	sent := e.tg.chat("700")
	if slices.ContainsFunc(sent, func(s string) bool { return strings.Contains(s, "2019") }) {
		t.Errorf("the private note reached the visitor: %q", sent)
	}
	want := []string{"connecting you", "Hello, this is Ann from support.", "Thanks for waiting, I'm on it.", "bye for now"}
	if !slices.Equal(sent, want) {
		t.Errorf("the visitor got %q, want %q", sent, want)
	}
	p.Do(chromedp.Click(chromedp.CSS(`.nav-item[data-view="bot"]`)))
	p.WaitText("#conv-list", "Visitor 700")
	p.Screenshot("console-bot-live")

	// Back with the bot, read-only until Ann takes it over.
	p.Do(chromedp.Click(chromedp.CSS(`.conv[data-id="` + id + `"]`)))
	p.WaitText("#chat-state", "Bot")
	p.WaitText("#chat-actions", "Take over")
	if browsertest.Eval[bool](p, `document.getElementById("chat-actions").textContent.includes("Close")`) {
		t.Error("a bot conversation offers Close before anyone took it over")
	}
	p.Do(chromedp.Click(chromedp.CSS(`#chat-actions [data-action="takeover"]`)))
	p.WaitText("#chat-state", "With a person")
	p.WaitText("#details", "Taken over from the bot")
	p.Do(chromedp.SendKeys(chromedp.CSS("#composer-text"), "Yes, invoices are fine.\r"))
	e.eventually("the answer after the takeover", func() bool {
		return slices.Contains(e.tg.chat("700"), "Yes, invoices are fine.")
	})

	// Saved replies are managed in a dialog.
	p.Do(chromedp.Click(chromedp.CSS("#open-canned")))
	p.WaitText("#dialog", "/thanks")
	p.Do(chromedp.SendKeys(chromedp.CSS("#canned-shortcut"), "refund"),
		chromedp.SendKeys(chromedp.CSS("#canned-text"), "Refunds reach your account within 3 working days."),
		chromedp.Click(chromedp.CSS("#canned-save")))
	p.WaitText("#dialog .canned-list", "/refund")
	p.Screenshot("console-canned-dialog")
	if list, err := e.st.CannedReplies(); err != nil || len(list) != 2 {
		t.Errorf("saved replies %+v %v, want the new one stored", list, err)
	}
}

// A colleague in Chinese on a phone: the queue, then the conversation.
func TestConsoleNarrowChinese(t *testing.T) {
	e := newEnv(t)
	b := browsertest.New(t)
	b.Allow("status of 401")
	e.addOperator("li@example.com", "李雷", accounts.RoleAgent)
	id := e.waiting("800", "我的快递还没到，能帮我查一下吗？")
	e.waiting("801", "退款什么时候到账？")
	p := b.Page(browsertest.Options{Width: 360, Height: 740, Mobile: true, Language: "zh-CN"})
	p.Do(chromedp.Navigate(e.srv.URL + "/console/"))
	p.WaitText("#auth-title", "登录")
	p.Screenshot("console-login-phone-zh")
	signIn(p, "li@example.com", "password of 李雷")
	p.WaitText("#list-title", "等待人工")
	p.WaitText("#conv-list", "Visitor 801")
	p.Screenshot("console-queue-phone-zh")
	if w := browsertest.Eval[int](p, `document.documentElement.scrollWidth`); w > 360 {
		t.Errorf("the page is %d px wide at 360 px: it overflows", w)
	}
	p.Do(chromedp.Click(chromedp.CSS(`.conv[data-id="` + id + `"]`)))
	p.WaitText("#transcript", "我的快递还没到")
	p.Do(chromedp.Click(chromedp.CSS(`#chat-actions [data-action="claim"]`)))
	p.WaitText("#chat-state", "人工处理中")
	p.Do(chromedp.SendKeys(chromedp.CSS("#composer-text"), "您好，我来帮您查询。\r"))
	p.WaitText("#transcript", "您好，我来帮您查询。")
	p.Screenshot("console-chat-phone-zh")
	if w := browsertest.Eval[int](p, `document.documentElement.scrollWidth`); w > 360 {
		t.Errorf("the conversation is %d px wide at 360 px: it overflows", w)
	}
	p.Do(chromedp.Click(chromedp.CSS("#back")))
	p.WaitText("#list-title", "等待人工")

	// The session runs out: the next request (here, opening the other
	// conversation reads its transcript) gets 401 and the console goes
	// back to the sign-in, saying why.
	e.clock.add(time.Hour)
	p.Do(chromedp.Click(chromedp.CSS(`.conv:not([data-id="` + id + `"])`)))
	p.WaitText("#auth-error", "登录已失效，请重新登录。")
	if !browsertest.Eval[bool](p, `document.getElementById("app").hidden`) {
		t.Error("the console stays visible after the session expired")
	}
}

// The first administrator is created in the browser with the setup link.
func TestConsoleSetupLink(t *testing.T) {
	e := newEnv(t)
	b := browsertest.New(t)
	link, _, ok, err := e.con.SetupLink(context.Background())
	if err != nil || !ok {
		t.Fatal(err)
	}
	p := b.Page(browsertest.Options{Width: 1280, Height: 800})
	p.Do(chromedp.Navigate(e.srv.URL + "/console/" + link[strings.Index(link, "#"):]))
	p.WaitText("#auth-title", "Create the first administrator")
	p.Do(
		chromedp.SendKeys(chromedp.CSS("#auth-name"), "Root Admin"),
		chromedp.SendKeys(chromedp.CSS("#auth-email"), "root@example.com"),
		chromedp.SendKeys(chromedp.CSS("#auth-password"), "a long password"),
	)
	p.Screenshot("console-setup")
	p.Do(chromedp.Click(chromedp.CSS("#auth-submit")), chromedp.WaitVisible(chromedp.CSS("#app")))
	p.WaitText("#me-name", "Root Admin")

	// The admin adds a colleague from the Team dialog.
	p.Do(chromedp.Click(chromedp.CSS("#open-team")))
	p.WaitText("#dialog", "root@example.com")
	p.Do(chromedp.SendKeys(chromedp.CSS("#team-name"), "Bea Chen"),
		chromedp.SendKeys(chromedp.CSS("#team-email"), "bea@example.com"),
		chromedp.SendKeys(chromedp.CSS("#team-password"), "bea's first password"),
		chromedp.Click(chromedp.CSS("#team-add")))
	p.WaitText("#dialog .team-list", "bea@example.com")
	p.Screenshot("console-team")
	if _, err := e.acc.Authenticate("bea@example.com", "bea's first password"); err != nil {
		t.Errorf("the colleague added in the console cannot sign in: %v", err)
	}
	p.Do(chromedp.KeyEvent("\x1b")) // Escape closes the dialog
	if hash := browsertest.Eval[string](p, "location.hash"); hash != "" {
		t.Errorf("the setup token stays in the address bar: %q", hash)
	}

	// A disabled account's next request gets 401: back to the sign-in.
	b.Allow("status of 401")
	if _, err := e.acc.Disable(context.Background(), "root@example.com"); err != nil {
		t.Fatal(err)
	}
	browsertest.Eval[bool](p, `(() => { const s = document.getElementById("me-status"); s.value = "away"; s.dispatchEvent(new Event("change")); return true })()`)
	p.WaitText("#auth-error", "Your session ended")
	if !browsertest.Eval[bool](p, `document.getElementById("app").hidden`) {
		t.Error("the console stays visible after the session ended")
	}
}

// The queue shows each handoff's department and priority, highest first,
// and the conversation's route in its details; on a desktop in English
// and on a phone in Chinese.
func TestConsoleRoutedQueue(t *testing.T) {
	tbl := priorities()
	tbl.Departments = append(tbl.Departments, routing.Department{Name: "chinese", Languages: []string{"zh"}})
	e := newRoutedEnv(t, tbl, Routing{Default: "general", Departments: []Department{{Name: "general"}, {Name: "chinese"}}, MaxChats: 3})
	b := browsertest.New(t)
	b.Allow("status of 401")
	e.addOperator("ann@example.com", "Ann Lee", accounts.RoleAgent)
	e.waiting("901", "whenever you have a minute")
	e.waiting("902", "我的快递还没到，能帮我查一下吗？")
	urgent := e.waiting("903", "this is urgent, my card was charged twice")
	p := b.Page(browsertest.Options{Width: 1440, Height: 900})
	p.Do(chromedp.Navigate(e.srv.URL + "/console/"))
	signIn(p, "ann@example.com", "password of Ann Lee")
	p.WaitText("#conv-list", "Visitor 901")
	first := browsertest.Eval[string](p, `document.querySelector("#conv-list .conv").dataset.id`)
	if first != urgent {
		t.Errorf("the queue starts with %s, want the urgent %s", first, urgent)
	}
	p.WaitText("#conv-list", "Urgent")
	p.WaitText("#conv-list", "chinese")
	p.Do(chromedp.Click(chromedp.CSS(`.conv[data-id="` + urgent + `"]`)))
	p.WaitText("#details", "rule urgent")
	p.WaitText("#details", "hot")
	p.Screenshot("console-routed-desktop-en")

	b2 := browsertest.New(t)
	b2.Allow("status of 401")
	small := b2.Page(browsertest.Options{Width: 360, Height: 740, Mobile: true, Language: "zh-CN"})
	small.Do(chromedp.Navigate(e.srv.URL + "/console/"))
	signIn(small, "ann@example.com", "password of Ann Lee")
	small.WaitText("#conv-list", "紧急")
	small.Screenshot("console-routed-phone-zh")
	if w := browsertest.Eval[int](small, `document.documentElement.scrollWidth`); w > 360 {
		t.Errorf("the queue is %d px wide at 360 px: it overflows", w)
	}
	small.Do(chromedp.Click(chromedp.CSS(`.conv[data-id="` + urgent + `"]`)))
	small.WaitText("#details", "规则 urgent")
}
