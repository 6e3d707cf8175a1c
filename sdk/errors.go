package sdk

import (
	"errors"
	"fmt"
	"net"
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
// platform: a failure to connect never reached it and is Temporary;
// anything later (a timeout, a reset) may have been delivered and is
// OutcomeUnknown.
func TransportError(err error) error {
	var op *net.OpError
	var dns *net.DNSError
	if (errors.As(err, &op) && op.Op == "dial") || errors.As(err, &dns) {
		return &Error{Kind: Temporary, Err: err}
	}
	return &Error{Kind: OutcomeUnknown, Err: err}
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
