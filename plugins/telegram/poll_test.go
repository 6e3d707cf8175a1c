package main

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	tt "github.com/switchboard-chat/switchboard/plugins/telegram/telegramtest"
	"github.com/switchboard-chat/switchboard/sdk"
)

// sink records deliveries; the first failures calls fail.
type sink struct {
	mu       sync.Mutex
	failures int
	calls    [][]sdk.Event
	ok       []sdk.Event
}

func (s *sink) Deliver(_ context.Context, events []sdk.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, events)
	if s.failures > 0 {
		s.failures--
		return errors.New("disk full")
	}
	s.ok = append(s.ok, events...)
	return nil
}

func (s *sink) snapshot() (calls [][]sdk.Event, ok []sdk.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]sdk.Event(nil), s.calls...), append([]sdk.Event(nil), s.ok...)
}

// polling starts Poll on a polling channel for fake and returns a stop
// function that waits for Poll to return.
func polling(t *testing.T, fake *tt.Server, s sdk.EventSink) (*Channel, func()) {
	t.Helper()
	c := configured(t, options(fake, map[string]any{"mode": "polling", "secret_token": nil}))
	c.pollTimeout, c.pollBackoff, c.maxPollBackoff = time.Second, 10*time.Millisecond, 50*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Poll(ctx, s) }()
	stop := func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Poll returned %v", err)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("Poll did not stop on cancel")
		}
	}
	t.Cleanup(func() { cancel() })
	return c, stop
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPollOffsetAdvancesOnlyAfterDeliver(t *testing.T) {
	fake := tt.NewServer(t, testToken)
	ann := tt.Visitor(777, "Ann")
	ids := fake.Enqueue(tt.TextUpdate(0, ann, "one"), tt.TextUpdate(0, ann, "two"))
	s := &sink{failures: 2}
	_, stop := polling(t, fake, s)
	waitFor(t, "a successful delivery", func() bool { _, ok := s.snapshot(); return len(ok) == 2 })
	waitFor(t, "the confirming getUpdates", func() bool { return fake.Confirmed() == ids[1]+1 })
	stop()

	calls, ok := s.snapshot()
	if len(calls) != 3 {
		t.Fatalf("%d deliveries, want 3 (two failed, then the same batch again)", len(calls))
	}
	for i, c := range calls {
		if len(c) != 2 || c[0].ID != "100001" || c[1].ID != "100002" {
			t.Errorf("delivery %d: %+v", i, c)
		}
	}
	if ok[0].Text != "one" || ok[1].Text != "two" || ok[0].Conversation != "777" {
		t.Errorf("events %+v", ok)
	}
	if fake.Pending() != 0 {
		t.Errorf("%d updates still pending", fake.Pending())
	}
}

// A polled button press is answered once its event is delivered.
func TestPollAnswersButtonPresses(t *testing.T) {
	fake := tt.NewServer(t, testToken)
	ann := tt.Visitor(777, "Ann")
	press := fake.PressButton(ann, tt.SentMessage{ChatID: 777, MessageID: 3, Text: "Rate us", Time: time.Now()}, "rating:2")
	fake.Enqueue(press)
	s := &sink{failures: 1}
	_, stop := polling(t, fake, s)
	defer stop()
	waitFor(t, "the answer", func() bool { return len(fake.CallbackAnswers()) == 1 })
	_, ok := s.snapshot()
	if len(ok) != 1 || ok[0].Kind != sdk.KindPostback || ok[0].Text != "rating:2" {
		t.Errorf("delivered %+v", ok)
	}
	if a := fake.CallbackAnswers(); a[0].QueryID != press.CallbackQuery.ID {
		t.Errorf("answered %+v", a)
	}
}

func TestPollResumesAfterRestartWithoutLoss(t *testing.T) {
	fake := tt.NewServer(t, testToken)
	ann := tt.Visitor(777, "Ann")
	fake.Enqueue(tt.TextUpdate(0, ann, "before crash"))
	// A poller whose commits always fail "crashes" (stops) before confirming.
	failing := &sink{failures: 1 << 30}
	_, stop := polling(t, fake, failing)
	waitFor(t, "an attempt", func() bool { c, _ := failing.snapshot(); return len(c) > 0 })
	stop()
	// The next process reads the same update again.
	s := &sink{}
	_, stop = polling(t, fake, s)
	waitFor(t, "redelivery", func() bool { _, ok := s.snapshot(); return len(ok) == 1 })
	stop()
	if _, ok := s.snapshot(); ok[0].Text != "before crash" {
		t.Fatalf("events %+v", ok)
	}
}

func TestPollDeletesWebhookAndSkipsIgnoredUpdates(t *testing.T) {
	fake := tt.NewServer(t, testToken)
	fake.SetWebhook("https://old.example.com/hook")
	ann := tt.Visitor(777, "Ann")
	fake.Enqueue(
		tt.Update{EditedMessage: tt.TextMessage(1, tt.PrivateChat(ann), ann, "edited")},
		tt.TextUpdate(0, ann, "hi"),
	)
	s := &sink{}
	_, stop := polling(t, fake, s)
	waitFor(t, "delivery", func() bool { _, ok := s.snapshot(); return len(ok) == 1 })
	stop()
	if fake.Calls(tt.MethodDeleteWebhook) != 1 || fake.Webhook().URL != "" {
		t.Fatalf("deleteWebhook calls %d, webhook %+v", fake.Calls(tt.MethodDeleteWebhook), fake.Webhook())
	}
	if _, ok := s.snapshot(); ok[0].Text != "hi" {
		t.Fatalf("events %+v", ok)
	}
}

func TestPollBacksOffOnErrorsAndStopsPromptly(t *testing.T) {
	fake := tt.NewServer(t, testToken)
	fake.FailNext(tt.MethodGetUpdates, 3, tt.InternalError)
	ann := tt.Visitor(777, "Ann")
	fake.Enqueue(tt.TextUpdate(0, ann, "hi"))
	s := &sink{}
	_, stop := polling(t, fake, s)
	waitFor(t, "delivery after errors", func() bool { _, ok := s.snapshot(); return len(ok) == 1 })
	// Now idle in a long poll: cancel must end it at once.
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	stop()
	if d := time.Since(start); d > time.Second {
		t.Errorf("stop took %v", d)
	}
}

func TestPollRefusedInWebhookMode(t *testing.T) {
	fake := tt.NewServer(t, testToken)
	c := configured(t, options(fake, nil))
	if err := c.Poll(context.Background(), &sink{}); sdk.KindOf(err) != sdk.Permanent {
		t.Fatalf("err %v", err)
	}
}
