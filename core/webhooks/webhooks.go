// Package webhooks sends event webhooks the way the Standard Webhooks
// specification (https://www.standardwebhooks.com, version 1.0.0) defines
// them: an HTTP POST of the JSON body with the headers webhook-id (the
// same on every attempt), webhook-timestamp (the attempt's time, in Unix
// seconds) and webhook-signature, a space-separated list of
// "v1,<base64 HMAC-SHA256>" signatures of "id.timestamp.body", one per
// secret that signs (two during a rotation). Secrets have the
// specification's text form, "whsec_" and the base64 of 24 to 64 random
// bytes; the decoded bytes are the HMAC key.
//
// The retry policy, the subscriptions and the log of attempts are the
// deliverer's (core/engine); this package makes one attempt.
package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// SecretPrefix starts a signing secret in its text form.
const SecretPrefix = "whsec_"

// Secret sizes in bytes: the specification allows 24 to 64; new secrets
// have 32.
const (
	minSecretBytes = 24
	maxSecretBytes = 64
	newSecretBytes = 32
)

// ErrBadSecret is returned for a secret not in the whsec_<base64> form.
var ErrBadSecret = errors.New("not a webhook secret")

// NewSecret returns a new random signing secret, "whsec_…".
func NewSecret() string {
	var b [newSecretBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b[:])
}

// ParseSecret returns the HMAC key of a secret in the whsec_<base64> form.
func ParseSecret(s string) ([]byte, error) {
	enc, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: it must start with %q", ErrBadSecret, SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(enc)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: what follows %q is not base64", ErrBadSecret, SecretPrefix)
	}
	if len(key) < minSecretBytes || len(key) > maxSecretBytes {
		return nil, fmt.Errorf("%w: it holds %d bytes, want %d to %d (generate one with `openssl rand -base64 32`)",
			ErrBadSecret, len(key), minSecretBytes, maxSecretBytes)
	}
	return key, nil
}

// CheckURL explains why u cannot receive webhooks, or returns nil: it must
// be an absolute http or https URL.
func CheckURL(u string) error {
	parsed, err := url.Parse(u)
	if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", u)
	}
	return nil
}

// Sign returns the v1 signature of a message: "v1," and the base64 of the
// HMAC-SHA256, under key, of id, timestamp and body joined by full stops.
func Sign(key []byte, id string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, timestamp, 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Request is one attempt to deliver a message.
type Request struct {
	URL string
	// ID is the message's webhook-id, the same on every attempt.
	ID   string
	Body []byte
	// Secrets sign it, each in the whsec_ form: the current one and,
	// during a rotation, the previous one.
	Secrets []string
}

// Result is what became of an attempt.
type Result struct {
	// Status is the receiver's HTTP status; 0 when none came.
	Status int
	// RetryAfter is the wait the receiver asked for (Retry-After), if any.
	RetryAfter time.Duration
	// Duration is how long the attempt took.
	Duration time.Duration
	// Err is nil for a 2xx answer, else why the attempt failed: no answer,
	// or a status that is not 2xx (redirects are not followed).
	Err error
}

// Gone reports whether the receiver answered 410 Gone: it wants no more
// webhooks from this subscription.
func (r Result) Gone() bool { return r.Status == http.StatusGone }

// errorSnippet is how much of an error answer's body the error quotes.
const errorSnippet = 256

// Client makes attempts.
type Client struct {
	http      *http.Client
	now       func() time.Time
	userAgent string
}

// NewClient returns a client whose attempts time out after timeout,
// reading the time of each attempt from now (nil: time.Now) and naming
// itself with version in the User-Agent.
func NewClient(timeout time.Duration, now func() time.Time, version string) *Client {
	if now == nil {
		now = time.Now
	}
	hc := sdk.NewHTTPClient(timeout)
	// A redirect is a failure: the subscription's URL should be updated
	// instead (the specification's advice).
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{http: hc, now: now, userAgent: "Switchboard-Webhooks/" + version}
}

// Post makes one attempt: it signs the body with a fresh timestamp and
// POSTs it.
func (c *Client) Post(ctx context.Context, req Request) Result {
	start := time.Now()
	res := c.post(ctx, req)
	res.Duration = time.Since(start)
	return res
}

func (c *Client) post(ctx context.Context, req Request) Result {
	if len(req.Secrets) == 0 {
		return Result{Err: errors.New("the subscription has no secret")}
	}
	ts := c.now().Unix()
	sigs := make([]string, 0, len(req.Secrets))
	for _, s := range req.Secrets {
		key, err := ParseSecret(s)
		if err != nil {
			return Result{Err: err}
		}
		sigs = append(sigs, Sign(key, req.ID, ts, req.Body))
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return Result{Err: err}
	}
	h := hr.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", c.userAgent)
	h.Set("webhook-id", req.ID)
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	h.Set("webhook-signature", strings.Join(sigs, " "))
	resp, err := c.http.Do(hr)
	if err != nil {
		return Result{Err: fmt.Errorf("no answer: %w", err)}
	}
	defer resp.Body.Close()
	res := Result{Status: resp.StatusCode}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection
		return res
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, errorSnippet))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	res.RetryAfter = sdk.ParseRetryAfter(resp.Header.Get("Retry-After"), c.now())
	msg := fmt.Sprintf("the receiver answered %s", resp.Status)
	if s := strings.TrimSpace(string(snippet)); s != "" {
		msg += ": " + strings.ToValidUTF8(s, "?")
	}
	res.Err = errors.New(msg)
	return res
}
