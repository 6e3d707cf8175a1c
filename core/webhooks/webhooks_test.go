package webhooks

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// verify checks a delivery the way the Standard Webhooks specification
// tells a receiver to, written from the specification and not from Sign:
// the secret's base64 after "whsec_" is the key; the signed content is
// webhook-id, webhook-timestamp and the raw body joined by "."; the header
// holds space-separated "v1,<base64 HMAC-SHA256>" entries, one of which
// must match (compared in constant time); the timestamp must be within
// five minutes of now.
func verify(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	if id == "" || ts == "" {
		return errors.New("missing webhook-id or webhook-timestamp")
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("bad timestamp")
	}
	if d := now.Sub(time.Unix(secs, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("timestamp outside the tolerance")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := mac.Sum(nil)
	for _, sig := range strings.Split(h.Get("webhook-signature"), " ") {
		version, b64, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no signature matches")
}

// captured is one request a test receiver got.
type captured struct {
	header http.Header
	body   []byte
}

func receiver(t *testing.T, answer func(n int, w http.ResponseWriter)) (string, func() []captured) {
	t.Helper()
	var mu sync.Mutex
	var got []captured
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, captured{r.Header.Clone(), body})
		n := len(got)
		mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		answer(n, w)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []captured {
		mu.Lock()
		defer mu.Unlock()
		return append([]captured(nil), got...)
	}
}

func TestDeliveriesVerifyAsTheSpecificationSays(t *testing.T) {
	secret := NewSecret()
	old := NewSecret()
	url, got := receiver(t, func(int, http.ResponseWriter) {})
	now := time.Unix(1700000000, 0)
	c := NewClient(5*time.Second, func() time.Time { return now }, "test")
	body := []byte(`{"type":"message.created","timestamp":"2023-11-14T22:13:20Z","data":{"text":"héllo <b>"}}`)

	if res := c.Post(context.Background(), Request{URL: url, ID: "evt_1", Body: body, Secrets: []string{secret}}); res.Err != nil || res.Status != 200 {
		t.Fatalf("post: %+v", res)
	}
	now = now.Add(90 * time.Second)
	// During a rotation both secrets sign; either verifies.
	if res := c.Post(context.Background(), Request{URL: url, ID: "evt_1", Body: body, Secrets: []string{secret, old}}); res.Err != nil {
		t.Fatalf("post: %+v", res)
	}
	reqs := got()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	first, second := reqs[0], reqs[1]
	if string(first.body) != string(body) || first.header.Get("webhook-id") != "evt_1" || second.header.Get("webhook-id") != "evt_1" {
		t.Fatalf("body %s, ids %q %q", first.body, first.header.Get("webhook-id"), second.header.Get("webhook-id"))
	}
	if first.header.Get("webhook-timestamp") == second.header.Get("webhook-timestamp") {
		t.Fatal("a retry must carry a fresh timestamp")
	}
	if n := len(strings.Fields(second.header.Get("webhook-signature"))); n != 2 {
		t.Fatalf("rotation: %d signatures, want 2", n)
	}

	at := func(r captured) time.Time {
		s, _ := strconv.ParseInt(r.header.Get("webhook-timestamp"), 10, 64)
		return time.Unix(s, 0)
	}
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-3] = 'X'
	for _, tc := range []struct {
		name   string
		secret string
		req    captured
		body   []byte
		now    time.Time
		ok     bool
	}{
		{"signed", secret, first, first.body, at(first), true},
		{"rotation, new secret", secret, second, second.body, at(second), true},
		{"rotation, old secret", old, second, second.body, at(second), true},
		{"other secret", NewSecret(), first, first.body, at(first), false},
		{"tampered body", secret, first, tampered, at(first), false},
		{"four minutes late", secret, first, first.body, at(first).Add(4 * time.Minute), true},
		{"six minutes late", secret, first, first.body, at(first).Add(6 * time.Minute), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := verify(tc.secret, tc.req.header, tc.body, tc.now); (err == nil) != tc.ok {
				t.Fatalf("verify: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestFailedAttemptsSayWhy(t *testing.T) {
	secret := NewSecret()
	now := time.Now()
	for _, tc := range []struct {
		name       string
		answer     func(w http.ResponseWriter)
		status     int
		retryAfter time.Duration
		gone       bool
	}{
		{"server error", func(w http.ResponseWriter) { http.Error(w, "database down", 500) }, 500, 0, false},
		{"rate limited", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		}, 429, 2 * time.Minute, false},
		{"unavailable until a date", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", now.Add(time.Hour).UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusServiceUnavailable)
		}, 503, time.Hour, false},
		{"gone", func(w http.ResponseWriter) { w.WriteHeader(http.StatusGone) }, 410, 0, true},
		{"redirect is not followed", func(w http.ResponseWriter) {
			w.Header().Set("Location", "http://127.0.0.1:1/elsewhere")
			w.WriteHeader(http.StatusMovedPermanently)
		}, 301, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, got := receiver(t, func(_ int, w http.ResponseWriter) { tc.answer(w) })
			c := NewClient(5*time.Second, func() time.Time { return now }, "test")
			res := c.Post(context.Background(), Request{URL: url, ID: "evt_2", Body: []byte(`{}`), Secrets: []string{secret}})
			if res.Err == nil || res.Status != tc.status || res.Gone() != tc.gone {
				t.Fatalf("result %+v", res)
			}
			if d := res.RetryAfter - tc.retryAfter; d < -time.Second || d > time.Second {
				t.Fatalf("retry after %v, want %v", res.RetryAfter, tc.retryAfter)
			}
			if len(got()) != 1 {
				t.Fatalf("%d requests", len(got()))
			}
		})
	}
	c := NewClient(time.Second, nil, "test")
	if res := c.Post(context.Background(), Request{URL: "http://127.0.0.1:1/", ID: "evt_3", Body: []byte(`{}`), Secrets: []string{secret}}); res.Err == nil || res.Status != 0 {
		t.Fatalf("no receiver: %+v", res)
	}
}

func TestSecrets(t *testing.T) {
	s := NewSecret()
	if key, err := ParseSecret(s); err != nil || len(key) != 32 {
		t.Fatalf("new secret %q: %d bytes, %v", s, len(key), err)
	}
	for _, tc := range []struct {
		secret string
		ok     bool
	}{
		{"whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 24)), true},
		{"whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 64)), true},
		{"whsec_" + base64.RawStdEncoding.EncodeToString(make([]byte, 32)), true},
		{"whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 23)), false},
		{"whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 65)), false},
		{base64.StdEncoding.EncodeToString(make([]byte, 32)), false},
		{"whsec_not base64!", false},
		{"", false},
	} {
		if _, err := ParseSecret(tc.secret); (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrBadSecret)) {
			t.Errorf("%q: %v, want ok=%v", tc.secret, err, tc.ok)
		}
	}
}
