package sdk

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"5", 5 * time.Second},
		{" 120\t", 2 * time.Minute},
		{"007", 7 * time.Second},
		{"Sun, 01 Mar 2026 12:00:30 GMT", 30 * time.Second}, // IMF-fixdate
		{"Sunday, 01-Mar-26 12:01:00 GMT", time.Minute},     // obsolete RFC 850
		{"Sun Mar  1 12:00:10 2026", 10 * time.Second},      // asctime
		{"Sun, 01 Mar 2026 11:59:00 GMT", 0},                // passed
		{"Sun, 01 Mar 2026 12:00:00 GMT", 0},                // now
		{"-5", 0},                                           // not delta-seconds
		{"+5", 0},
		{"1.5", 0},
		{"5s", 0},
		{"soon", 0},
		{"99999999999999999999", 0},          // overflows
		{"9300000000", 0},                    // longer than a Duration holds
		{"Fri, 31 Dec 9999 23:59:59 GMT", 0}, // likewise
		{"2026-03-01T12:00:30Z", 0},          // not an HTTP date
	}
	for _, tt := range tests {
		if got := ParseRetryAfter(tt.value, now); got != tt.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tt.value, got, tt.want)
		}
	}
}

func TestStatusError(t *testing.T) {
	cause := errors.New("the platform said no")
	tests := []struct {
		status     int
		retryAfter time.Duration
		kind       ErrorKind
		wantAfter  time.Duration
	}{
		{429, 3 * time.Second, Temporary, 3 * time.Second},
		{429, 0, Temporary, 0},
		{503, 10 * time.Second, Temporary, 10 * time.Second},
		{500, 0, Temporary, 0},
		{502, 0, Temporary, 0},
		{504, 0, Temporary, 0},
		{408, 0, Temporary, 0},
		{425, 0, Temporary, 0},
		{400, 5 * time.Second, Permanent, 0},
		{401, 0, Permanent, 0},
		{403, 0, Permanent, 0},
		{404, 0, Permanent, 0},
		{409, 0, Permanent, 0},
		{413, 0, Permanent, 0},
		{422, 0, Permanent, 0},
		{302, 0, Permanent, 0},
		{429, -time.Second, Temporary, 0},
	}
	for _, tt := range tests {
		err := StatusError(tt.status, tt.retryAfter, cause)
		if KindOf(err) != tt.kind || RetryAfterOf(err) != tt.wantAfter || !errors.Is(err, cause) {
			t.Errorf("StatusError(%d, %v) = %v kind %s after %v, want %s after %v wrapping the cause",
				tt.status, tt.retryAfter, err, KindOf(err), RetryAfterOf(err), tt.kind, tt.wantAfter)
		}
		if StatusKind(tt.status) != tt.kind {
			t.Errorf("StatusKind(%d) = %s, want %s", tt.status, StatusKind(tt.status), tt.kind)
		}
	}
}

// failingBody fails while the request is being written.
type failingBody struct{ sent bool }

func (b *failingBody) Read(p []byte) (int, error) {
	if b.sent {
		return 0, errors.New("the body's source broke")
	}
	b.sent = true
	return copy(p, "{"), nil
}

// zeros is an endless body.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestTransportError(t *testing.T) {
	// A server that reads the whole request and hangs up without answering.
	hangUp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer hangUp.Close()
	// A server that takes the request and answers too late.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		<-release
	}))
	defer slow.Close()
	defer close(release)
	// A TCP listener that accepts connections and never reads them.
	deaf, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer deaf.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := deaf.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	// A port nothing listens on.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + closed.Addr().String()
	closed.Close()

	tests := []struct {
		name    string
		url     string
		body    func() io.Reader
		size    int64
		timeout time.Duration
		want    ErrorKind
	}{
		{"connection refused", refused, nil, 0, 0, Temporary},
		{"name lookup failed", "http://nowhere.invalid", nil, 0, 0, Temporary},
		{"https to a plain HTTP server", strings.Replace(hangUp.URL, "http:", "https:", 1), nil, 0, 0, Temporary},
		{"body failed while writing", hangUp.URL, func() io.Reader { return &failingBody{} }, 100, 0, Temporary},
		{"timed out while writing", "http://" + deaf.Addr().String(), func() io.Reader { return zeros{} }, 1 << 40, 200 * time.Millisecond, Temporary},
		{"hung up after the request", hangUp.URL, nil, 0, 0, OutcomeUnknown},
		{"timed out waiting for the answer", slow.URL, nil, 0, 200 * time.Millisecond, OutcomeUnknown},
	}
	client := NewHTTPClient(0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			var body io.Reader = strings.NewReader(`{"text":"hi"}`)
			if tt.body != nil {
				body = tt.body()
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, tt.url, body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.size > 0 {
				req.ContentLength = tt.size
			}
			resp, err := client.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("the request succeeded")
			}
			classified := TransportError(err)
			if KindOf(classified) != tt.want {
				t.Errorf("%v: kind %s, want %s", err, KindOf(classified), tt.want)
			}
			if tt.timeout > 0 {
				var ue *url.Error
				if !errors.As(err, &ue) || !ue.Timeout() || !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%v: no longer reads as a timeout", err)
				}
			}
		})
	}
}
