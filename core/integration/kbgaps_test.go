package integration

import (
	"testing"
	"time"
)

// The loop of an unanswered question, on the shipped config with no model:
// a visitor's question the FAQ lacks goes to a person and is listed as
// unanswered; an administrator writes its answer in the console; the next
// visitor asking it gets the answer from the bot, also after a restart,
// whose synchronisation of the FAQ folder keeps the console's answers.
func TestAnUnansweredQuestionAnsweredInTheConsole(t *testing.T) {
	d := startDaemonAt(t, shippedConfig(t), "/healthz")
	const asked, answer = "do you sell dog beds?", "No, we sell kitchenware and home goods only."

	first := newWebVisitor(t, d)
	first.send("q1", asked)
	boss := signedInAs(t, d, "Bo Boss", "admin")
	var gaps struct {
		Gaps []struct {
			Question string `json:"question"`
			Count    int    `json:"count"`
		} `json:"gaps"`
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(gaps.Gaps) == 0 && time.Now().Before(deadline) {
		if code := boss.do("GET", "/op/v1/kb/gaps", nil, &gaps); code != 200 {
			t.Fatalf("gaps: %d", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(gaps.Gaps) != 1 || gaps.Gaps[0].Question != asked {
		t.Fatalf("gaps %+v, want the visitor's question", gaps.Gaps)
	}

	var saved struct {
		Bot struct {
			Outcome string `json:"outcome"`
		} `json:"bot"`
	}
	if code := boss.do("POST", "/op/v1/kb/entries", map[string]string{"question": "Do you sell pet supplies?", "answer": answer, "asked": asked}, &saved); code != 201 || saved.Bot.Outcome != "answer" {
		t.Fatalf("the answer: %d %+v", code, saved)
	}
	if code := boss.do("GET", "/op/v1/kb/gaps", nil, &gaps); code != 200 || len(gaps.Gaps) != 0 {
		t.Errorf("gaps after the answer: %d %+v", code, gaps.Gaps)
	}

	botAnswers := func(v *webVisitor) {
		t.Helper()
		v.send("q1", asked)
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			for _, m := range v.messages() {
				if m.Role == "bot" && m.Text == answer {
					return
				}
			}
		}
		t.Fatalf("the bot did not answer %q: %+v", asked, v.messages())
	}
	botAnswers(newWebVisitor(t, d))
	d.stop()
	d.start()
	botAnswers(newWebVisitor(t, d))
}
