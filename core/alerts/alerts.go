// Package alerts tells the people running Switchboard that something needs
// them: a message that could not be delivered, a plugin that keeps
// crashing, a model server that stays down. Every alert is logged at error
// level and, when a webhook URL is configured, POSTed there as JSON.
package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/sdk"
)

// Alert kinds.
const (
	DeadLetter   = "dead_letter"
	PluginFailed = "plugin_failed"
	LLMDown      = "llm_down"
	// WebhookPaused: an event webhook subscription kept failing and was
	// paused.
	WebhookPaused = "webhook_paused"
	// WebhookDisabled: an event webhook's receiver answered 410 Gone.
	WebhookDisabled = "webhook_disabled"
)

// Alert is what the webhook receives.
type Alert struct {
	Kind    string            `json:"kind"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
	Time    time.Time         `json:"time"`
}

// Alerter sends alerts. A nil *Alerter only logs nothing; use New.
type Alerter struct {
	url    string
	log    logrus.FieldLogger
	client *http.Client
	// Attempts and Backoff tune webhook retries (defaults 5 and 2s):
	// Backoff is the first wait, doubled for each further retry.
	Attempts int
	Backoff  time.Duration
	wg       sync.WaitGroup
}

// New returns an alerter posting to url ("" for log only).
func New(url string, log logrus.FieldLogger) *Alerter {
	return &Alerter{url: url, log: log, client: &http.Client{Timeout: 10 * time.Second}, Attempts: 5, Backoff: 2 * time.Second}
}

// Send logs the alert and posts it in the background, retrying with
// backoff.
func (a *Alerter) Send(kind, message string, fields map[string]string) {
	if a == nil {
		return
	}
	entry := a.log.WithField("alert", kind)
	for k, v := range fields {
		entry = entry.WithField(k, v)
	}
	entry.Error(message)
	if a.url == "" {
		return
	}
	body, err := json.Marshal(Alert{Kind: kind, Message: message, Fields: fields, Time: time.Now().UTC()})
	if err != nil {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.post(body); err != nil {
			a.log.WithError(err).WithField("alert", kind).Error("could not deliver alert to alerts.webhook_url")
		}
	}()
}

func (a *Alerter) post(body []byte) error {
	backoff := sdk.Backoff{Base: a.Backoff}
	var last error
	for attempt := 1; attempt <= a.Attempts; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, bytes.NewReader(body))
		if err != nil {
			cancel()
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := a.client.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 300 {
				return nil
			}
			last = fmt.Errorf("alert webhook answered %d", resp.StatusCode)
			if resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
				return last
			}
		} else {
			last = err
		}
		if attempt < a.Attempts {
			time.Sleep(backoff.Delay(attempt))
		}
	}
	return fmt.Errorf("after %d attempts: %w", a.Attempts, last)
}

// Wait blocks until alerts in flight are delivered or given up.
func (a *Alerter) Wait() {
	if a != nil {
		a.wg.Wait()
	}
}
