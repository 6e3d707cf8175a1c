package sdk

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrorKind tells the daemon what to do after a failed call.
type ErrorKind string

// Error kinds.
const (
	// Temporary: retry later with backoff (network error, 5xx, rate limit).
	Temporary ErrorKind = "temporary"
	// Permanent: retrying cannot help (400, invalid options).
	Permanent ErrorKind = "permanent"
	// Blocked: the recipient cannot be reached any more (the visitor blocked
	// the bot); permanent, and the visitor is marked unreachable.
	Blocked ErrorKind = "blocked"
	// OutcomeUnknown: the request left but no answer came; the platform may
	// or may not have delivered it.
	OutcomeUnknown ErrorKind = "outcome_unknown"
	// ModelMissing: the LLM backend does not have the configured model.
	ModelMissing ErrorKind = "model_missing"
	// Unavailable: the backend server cannot be reached.
	Unavailable ErrorKind = "unavailable"
	// Timeout: the call took longer than its limit.
	Timeout ErrorKind = "timeout"
)

// Error is an error with a kind and an optional retry delay. Plugins return
// it (through the helpers below) so the daemon can tell a rate limit from a
// blocked visitor without parsing messages.
type Error struct {
	Kind       ErrorKind
	RetryAfter time.Duration
	Err        error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err == nil {
		return string(e.Kind)
	}
	return e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// NewError wraps err with a kind.
func NewError(kind ErrorKind, err error) error {
	return &Error{Kind: kind, Err: err}
}

// Errorf formats an error of the given kind.
func Errorf(kind ErrorKind, format string, args ...any) error {
	return &Error{Kind: kind, Err: fmt.Errorf(format, args...)}
}

// RetryAfter is a temporary error that must not be retried before d.
func RetryAfter(d time.Duration, err error) error {
	return &Error{Kind: Temporary, RetryAfter: d, Err: err}
}

// TransportError classifies an error returned by an HTTP client call to a
// platform, one that got no answer. A request that never left — the
// connection or the name lookup failed, or (with a client from
// [NewHTTPClient]) it was not completely written — is Temporary: retrying
// cannot duplicate it. Anything else (a timeout or a reset after the
// request went out) may have been carried out by the platform and is
// OutcomeUnknown: the daemon retries it only where the platform drops
// repeats, and otherwise records it as possibly delivered.
func TransportError(err error) error {
	var op *net.OpError
	var dns *net.DNSError
	var unsent *notSentError
	if errors.As(err, &unsent) || errors.Is(err, http.ErrSchemeMismatch) ||
		(errors.As(err, &op) && op.Op == "dial") || errors.As(err, &dns) {
		return &Error{Kind: Temporary, Err: err}
	}
	return &Error{Kind: OutcomeUnknown, Err: err}
}

// StatusKind is the kind of error an HTTP error status calls for, when the
// platform documents nothing more specific: 408 Request Timeout, 425 Too
// Early, 429 Too Many Requests and every 5xx are Temporary; every other
// status is Permanent, since the same request would get the same answer
// (400, 401, 403, 404, 409, 413, 422…, and a 1xx–3xx the client did not
// follow).
func StatusKind(status int) ErrorKind {
	switch {
	case status == http.StatusRequestTimeout, status == http.StatusTooEarly,
		status == http.StatusTooManyRequests, status >= 500 && status < 600:
		return Temporary
	default:
		return Permanent
	}
}

// StatusError is err, the failure of a call the platform answered with an
// error status, as an [*Error] of kind [StatusKind](status). retryAfter is
// the wait the platform asked for (see [ParseRetryAfter]); it is kept when
// the kind is Temporary. A plugin handles the statuses its platform gives
// its own meaning first (Telegram's 403 is a blocked visitor) and passes
// the rest here.
func StatusError(status int, retryAfter time.Duration, err error) error {
	kind := StatusKind(status)
	if kind != Temporary {
		retryAfter = 0
	}
	return &Error{Kind: kind, RetryAfter: max(retryAfter, 0), Err: err}
}

// ParseRetryAfter reads a Retry-After header value (RFC 9110, section
// 10.2.3): a number of seconds, or an HTTP date, which is turned into the
// wait from now. An empty or malformed value, a date that has passed and a
// wait too long for a time.Duration all give 0: no advice.
func ParseRetryAfter(value string, now time.Time) time.Duration {
	value = strings.Trim(value, " \t")
	if value == "" {
		return 0
	}
	if strings.Trim(value, "0123456789") == "" {
		secs, err := strconv.ParseInt(value, 10, 64)
		if err != nil || secs > int64(math.MaxInt64/time.Second) {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	t, err := http.ParseTime(value)
	if err != nil {
		return 0
	}
	d := t.Sub(now)
	if d <= 0 || d == math.MaxInt64 { // passed, or saturated
		return 0
	}
	return d
}

// KindOf returns the kind of err: the kind of the first [*Error] in its
// chain, or Temporary for any other error.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Temporary
}

// RetryAfterOf returns the retry delay carried by err, or 0.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
