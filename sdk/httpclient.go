package sdk

import (
	"crypto/tls"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"
)

// maxIdlePerHost is how many idle keep-alive connections a plugin's client
// keeps to one host: enough for the daemon's concurrent sends (32 by
// default) to reuse connections instead of opening new ones.
const maxIdlePerHost = 64

// NewHTTPClient returns the HTTP client a plugin should use to call its
// platform's API. Unlike http.DefaultClient, whose transport keeps only two
// idle connections per host, it keeps enough for concurrent sends to reuse
// their connections: otherwise most requests under load open a new
// connection and pay a TLS handshake. It honours the proxy environment
// variables. timeout bounds each whole request (0: no bound; bound requests
// with their context instead, as a streaming call must).
//
// Its errors tell [TransportError] whether a failed request was completely
// written, so a request that never left is retried as Temporary instead of
// being reported as OutcomeUnknown.
func NewHTTPClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 4 * maxIdlePerHost
	t.MaxIdleConnsPerHost = maxIdlePerHost
	return &http.Client{Transport: sentTracker{next: t}, Timeout: timeout}
}

// sentTracker is a RoundTripper that marks the errors of requests that
// were not completely written as [notSentError].
type sentTracker struct {
	next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (s sentTracker) RoundTrip(req *http.Request) (*http.Response, error) {
	var wrote atomic.Bool
	ctx := httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				wrote.Store(true)
			}
		},
	})
	resp, err := s.next.RoundTrip(req.WithContext(ctx))
	if err == nil || wrote.Load() {
		return resp, err
	}
	if _, ok := err.(tls.RecordHeaderError); ok {
		// net/http turns this one, by its type, into ErrSchemeMismatch
		// (an https URL for a plain HTTP server); TransportError knows it.
		return resp, err
	}
	return resp, &notSentError{err: err}
}

// notSentError is the error of a request that was not completely written:
// the platform cannot have acted on it.
type notSentError struct {
	err error
}

func (e *notSentError) Error() string { return e.err.Error() }
func (e *notSentError) Unwrap() error { return e.err }

// Timeout keeps url.Error.Timeout working, which asks the error it wraps
// directly rather than its chain.
func (e *notSentError) Timeout() bool {
	t, ok := e.err.(interface{ Timeout() bool })
	return ok && t.Timeout()
}

// Temporary does the same for url.Error.Temporary.
func (e *notSentError) Temporary() bool {
	t, ok := e.err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}
