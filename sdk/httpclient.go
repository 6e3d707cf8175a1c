package sdk

import (
	"net/http"
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
func NewHTTPClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 4 * maxIdlePerHost
	t.MaxIdleConnsPerHost = maxIdlePerHost
	return &http.Client{Transport: t, Timeout: timeout}
}
