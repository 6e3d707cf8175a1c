package console

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/core/accounts"
	"github.com/switchboard-chat/switchboard/core/kb"
	"github.com/switchboard-chat/switchboard/core/store"
)

func TestAnsweringKnowledgeGaps(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ann := e.operator("ann@example.com", "Ann", accounts.RoleAgent)
	boss := e.operator("boss@example.com", "Boss", accounts.RoleAdmin)
	// The shop's FAQ, which says nothing of beds.
	ins, err := kb.ReadSources([]string{"../../examples/kb"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.kb.ImportAll(ctx, ins); err != nil {
		t.Fatal(err)
	}
	bot := answers{e.kb}
	const asked, answer = "do u sell dog beds", "No, we sell kitchenware and home goods only."
	if d, err := bot.Decide(ctx, asked); err != nil || d.Outcome == kb.Answer {
		t.Fatalf("answered before: %+v %v", d.Entry, err)
	}
	for _, q := range []string{"What's your phone number?", "Do u sell dog beds?", asked} {
		if err := e.st.RecordKBGap(ctx, q, store.GapHandoff, 0.1); err != nil {
			t.Fatal(err)
		}
	}
	var gaps struct {
		Gaps []store.KBGap `json:"gaps"`
	}
	if code := ann.do("GET", "/op/v1/kb/gaps", nil, &gaps); code != 403 {
		t.Errorf("an agent listing the gaps: %d, want 403", code)
	}
	if code := boss.do("GET", "/op/v1/kb/gaps", nil, &gaps); code != 200 || len(gaps.Gaps) != 2 ||
		gaps.Gaps[0].Count != 2 || gaps.Gaps[0].Question != asked {
		t.Fatalf("gaps: %d %+v", code, gaps.Gaps)
	}

	// Refused, and nothing changes.
	for _, body := range []map[string]string{
		{"question": "Do you sell dog beds?", "answer": " "},
		{"question": "", "answer": answer},
		{"question": strings.Repeat("q", maxQuestion+1), "answer": answer},
		{"question": "Beds?", "answer": strings.Repeat("a", MaxMessage+1)},
	} {
		if code := boss.do("POST", "/op/v1/kb/entries", body, nil); code != 400 {
			t.Errorf("save %.40v: %d, want 400", body, code)
		}
	}
	if code := ann.do("POST", "/op/v1/kb/entries", map[string]string{"question": "Beds?", "answer": answer}, nil); code != 403 {
		t.Errorf("an agent writing an answer: %d, want 403", code)
	}
	if _, err := e.kb.Chunks(kb.ConsoleDocument); err == nil {
		t.Fatal("a refused entry was written")
	}

	// Answered: the bot answers the visitor's words from now on, says so,
	// and the question is no longer a gap.
	var saved savedEntry
	code := boss.do("POST", "/op/v1/kb/entries", map[string]string{"question": "Do you sell dog beds?", "answer": answer, "asked": asked}, &saved)
	if code != 201 || saved.Document.Status != kb.Created || saved.Document.Origin != kb.OriginConsole || saved.Document.Name != kb.ConsoleDocument {
		t.Fatalf("save: %d %+v", code, saved)
	}
	if saved.Bot == nil || !reflect.DeepEqual(*saved.Bot, botPreview{Question: asked, Outcome: "answer", Entry: "Do you sell dog beds?"}) {
		t.Errorf("what the bot does now: %+v", saved.Bot)
	}
	if d, err := bot.Decide(ctx, "Do you sell dog beds?"); err != nil || d.Outcome != kb.Answer || d.Entry.Text != answer {
		t.Errorf("the bot after the answer: %v %v %v", d.Outcome, d.Entry.Title, err)
	}
	boss.do("GET", "/op/v1/kb/gaps", nil, &gaps)
	if len(gaps.Gaps) != 1 || gaps.Gaps[0].Question != "What's your phone number?" {
		t.Errorf("gaps after the answer: %+v", gaps.Gaps)
	}

	// A question nobody will answer is dismissed, once.
	if code := boss.do("POST", "/op/v1/kb/gaps/dismiss", map[string]string{"question": "what's your phone number"}, nil); code != 204 {
		t.Errorf("dismiss: %d", code)
	}
	if code := boss.do("POST", "/op/v1/kb/gaps/dismiss", map[string]string{"question": "What's your phone number?"}, nil); code != 404 {
		t.Errorf("dismiss twice: %d, want 404", code)
	}
	if code := boss.do("POST", "/op/v1/kb/gaps/dismiss", map[string]string{"question": " "}, nil); code != 400 {
		t.Errorf("dismiss nothing: %d, want 400", code)
	}
	entries, err := e.st.Audit(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range entries {
		if strings.HasPrefix(a.Action, "kb.") {
			actions = append(actions, a.Action+" "+a.Actor+" "+a.Target)
		}
	}
	if strings.Join(actions, "\n") != "kb.entry.save operator:boss@example.com Do you sell dog beds?\n"+
		"kb.gap.dismiss operator:boss@example.com what's your phone number" {
		t.Errorf("audit:\n%s", strings.Join(actions, "\n"))
	}
}
