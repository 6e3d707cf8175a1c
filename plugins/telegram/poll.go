package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// Poll reads updates with getUpdates long polling until ctx ends. The
// offset (Telegram's cursor: calling getUpdates with it confirms every
// earlier update) advances only after sink.Deliver returned nil, so updates
// are re-read after a failed commit or a crash, and the daemon drops the
// repeats by event ID. While a webhook is set Telegram refuses getUpdates
// (409); Poll then deletes the webhook. Errors are logged and retried with
// backoff; Poll returns only when ctx ends.
func (c *Channel) Poll(ctx context.Context, sink sdk.EventSink) error {
	st, err := c.state()
	if err != nil {
		return err
	}
	if st.opts.Mode != modePolling {
		return sdk.Errorf(sdk.Permanent, "telegram instance %s is in webhook mode", st.instance)
	}
	p := poller{c: c, st: st, sink: sink, backoff: sdk.Backoff{Base: c.pollBackoff, Max: c.maxPollBackoff}}
	p.run(ctx)
	return nil
}

// poller is one Poll run.
type poller struct {
	c      *Channel
	st     *state
	sink   sdk.EventSink
	offset int64
	// backoff spaces the retries of consecutive failures.
	backoff sdk.Backoff
}

func (p *poller) run(ctx context.Context) {
	failures := 0
	for ctx.Err() == nil {
		if err := p.once(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			wait := p.backoff.Delay(failures)
			p.st.log.Warn("telegram polling failed; retrying", "error", err.Error(), "retry_in", wait.String())
			sleep(ctx, wait)
			continue
		}
		failures = 0
	}
}

// once makes one getUpdates call and delivers what it got.
func (p *poller) once(ctx context.Context) error {
	updates, err := p.getUpdates(ctx)
	var ae *apiError
	if errors.As(err, &ae) && ae.Code == http.StatusConflict && strings.Contains(strings.ToLower(ae.Description), "webhook") {
		p.st.log.Warn("telegram has a webhook set for this bot; deleting it to poll")
		return p.deleteWebhook(ctx)
	}
	if err != nil {
		return err
	}
	if len(updates) == 0 {
		return nil
	}
	bot := p.st.identity()
	var events []sdk.Event
	var queries []string
	next := p.offset
	for _, raw := range updates {
		var head struct {
			UpdateID int64 `json:"update_id"`
		}
		if err := json.Unmarshal(raw, &head); err != nil || head.UpdateID <= 0 {
			p.st.log.Error("telegram getUpdates returned something that is not an update; skipped", "update", snippet(raw))
			continue
		}
		evs, err := parseUpdate(raw, bot)
		if errors.Is(err, errNeedIdentity) {
			if rerr := p.c.refreshIdentity(ctx, p.st, getMeTimeout); rerr != nil {
				return fmt.Errorf("getMe (to recognise mentions in groups): %w", rerr)
			}
			bot = p.st.identity()
			evs, err = parseUpdate(raw, bot)
		}
		if err != nil {
			p.st.log.Error("telegram update skipped", "update_id", head.UpdateID, "error", err.Error())
		}
		events = append(events, evs...)
		if id := callbackQueryID(raw, evs); id != "" {
			queries = append(queries, id)
		}
		next = max(next, head.UpdateID+1)
	}
	if len(events) > 0 {
		if err := p.sink.Deliver(ctx, events); err != nil {
			return fmt.Errorf("deliver %d events (offset stays %d, they are read again): %w", len(events), p.offset, err)
		}
	}
	p.offset = next
	for _, id := range queries {
		p.answerCallback(ctx, id)
	}
	return nil
}

// answerCallback stops a pressed button's progress indicator once its
// event is committed. It is best effort: Telegram takes the answer only for
// a short while, and an unanswered press merely shows the indicator longer.
func (p *poller) answerCallback(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	if err := p.st.api.call(ctx, "answerCallbackQuery", map[string]any{"callback_query_id": id}, nil); err != nil {
		p.st.log.Debug("telegram answerCallbackQuery failed", "error", err.Error())
	}
}

func (p *poller) getUpdates(ctx context.Context) ([]json.RawMessage, error) {
	params := map[string]any{
		"timeout":         int(p.c.pollTimeout / time.Second),
		"allowed_updates": allowedUpdates(),
	}
	if p.offset != 0 {
		params["offset"] = p.offset
	}
	ctx, cancel := context.WithTimeout(ctx, p.c.pollTimeout+15*time.Second)
	defer cancel()
	var updates []json.RawMessage
	if err := p.st.api.call(ctx, "getUpdates", params, &updates); err != nil {
		return nil, fmt.Errorf("getUpdates offset %s: %w", strconv.FormatInt(p.offset, 10), err)
	}
	return updates, nil
}

// deleteWebhook removes the webhook, keeping the pending updates for
// getUpdates.
func (p *poller) deleteWebhook(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, setWebhookTimeout)
	defer cancel()
	if err := p.st.api.call(ctx, "deleteWebhook", map[string]any{"drop_pending_updates": false}, nil); err != nil {
		return fmt.Errorf("deleteWebhook: %w", err)
	}
	return nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
