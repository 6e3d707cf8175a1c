// Package apitest holds the API's tests to its OpenAPI document: every
// request a test sends under /v1, /w/v1, /op/v1 or /oauth, and every answer
// it gets, is validated against the document (with kin-openapi's
// openapi3filter), and a mismatch fails the test.
//
// A test reads:
//
//	v := apitest.New(t, httpapi.OpenAPI())
//	client := v.Client()            // or v.Transport(base) in a client of its own
//	resp, err := client.Do(req)     // the exchange is checked here
//
// or, for a handler called with httptest.NewRecorder:
//
//	v.Recorded(req, body, rec)
//
// A request the document refuses (a malformed body, a missing parameter)
// must be refused by the server with a documented 4xx answer; a request to
// a path the document does not know must be answered 404 or 405.
package apitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Prefixes are the paths the document describes; requests elsewhere
// (platform webhooks, probes, metrics, the pages) are not checked.
var prefixes = []string{"/v1/", "/w/v1/", "/op/v1/", "/oauth/"}

// Described reports whether the document is meant to describe path.
func Described(path string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// Validator checks exchanges against one document.
type Validator struct {
	t       testing.TB
	doc     *openapi3.T
	router  routers.Router
	checked atomic.Int64
}

// Load parses and validates an OpenAPI document.
func Load(data []byte) (*openapi3.T, routers.Router, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, nil, fmt.Errorf("the OpenAPI document is invalid: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("route the OpenAPI document: %w", err)
	}
	return doc, router, nil
}

// loaded is a parsed document; parsing takes tens of milliseconds, and
// the tests of a package make hundreds of validators of one document.
type loaded struct {
	doc    *openapi3.T
	router routers.Router
	err    error
}

var (
	cacheMu sync.Mutex
	cache   = map[[sha256.Size]byte]loaded{}
)

// New returns a validator of the document data that fails t on a
// mismatch.
func New(t testing.TB, data []byte) *Validator {
	t.Helper()
	key := sha256.Sum256(data)
	cacheMu.Lock()
	l, ok := cache[key]
	if !ok {
		l.doc, l.router, l.err = Load(data)
		cache[key] = l
	}
	cacheMu.Unlock()
	if l.err != nil {
		t.Fatal(l.err)
	}
	return &Validator{t: t, doc: l.doc, router: l.router}
}

// Doc returns the parsed document.
func (v *Validator) Doc() *openapi3.T { return v.doc }

// Checked is how many exchanges were validated so far.
func (v *Validator) Checked() int { return int(v.checked.Load()) }

// Client returns an HTTP client whose exchanges are validated.
func (v *Validator) Client() *http.Client {
	return &http.Client{Transport: v.Transport(nil)}
}

// Transport wraps base (nil: http.DefaultTransport) so that its exchanges
// are validated. A streamed answer (text/event-stream) is checked for its
// status and headers, and its body is left to the caller to read.
func (v *Validator) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper{v: v, base: base}
}

type roundTripper struct {
	v    *Validator
	base http.RoundTripper
}

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if !Described(req.URL.Path) || req.Method == http.MethodOptions {
		return rt.base.RoundTrip(req)
	}
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(reqBody)), nil }
	}
	resp, err := rt.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	var respBody []byte
	if !streamed(resp.Header) {
		respBody, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(respBody))
		if err != nil {
			return resp, err
		}
	}
	if err := rt.v.Check(req, reqBody, resp.StatusCode, resp.Header, respBody); err != nil {
		rt.v.t.Errorf("%v", err)
	}
	return resp, nil
}

// Recorded validates an exchange served to an httptest.ResponseRecorder;
// reqBody is what req's body held.
func (v *Validator) Recorded(req *http.Request, reqBody []byte, rec *httptest.ResponseRecorder) {
	v.t.Helper()
	var body []byte
	if !streamed(rec.Header()) {
		body = rec.Body.Bytes()
	}
	if err := v.Check(req, reqBody, rec.Code, rec.Header(), body); err != nil {
		v.t.Errorf("%v", err)
	}
}

func streamed(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == "text/event-stream"
}

// ErrUndocumented is the cause of a mismatch.
var ErrUndocumented = errors.New("the exchange does not match the OpenAPI document")

// Check validates one exchange: the request (with reqBody) and the answer
// (status, header and body; a nil body of a stream is not checked).
func (v *Validator) Check(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	if !Described(req.URL.Path) || req.Method == http.MethodOptions {
		return nil // CORS preflights are not operations
	}
	v.checked.Add(1)
	what := req.Method + " " + req.URL.RequestURI()
	// The router matches on the path alone: the document's server is "/".
	probe := req.Clone(context.Background())
	probe.URL.Scheme, probe.URL.Host, probe.Host = "", "", ""
	probe.Body = io.NopCloser(bytes.NewReader(reqBody))
	if len(reqBody) > 0 && probe.Header.Get("Content-Type") == "" {
		// The servers read an untyped body as JSON.
		probe.Header.Set("Content-Type", "application/json")
	}
	route, params, err := v.router.FindRoute(probe)
	if err != nil {
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			return nil
		}
		return fmt.Errorf("%w: %s: no such route in the document, yet the server answered %d", ErrUndocumented, what, status)
	}
	in := &openapi3filter.RequestValidationInput{
		Request: probe, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	if reqErr != nil && status < 400 {
		return fmt.Errorf("%w: %s: the document refuses this request (%v), yet the server answered %d", ErrUndocumented, what, reqErr, status)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			ExcludeResponseBody:   body == nil && streamed(header),
		},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("%w: %s answered %d: %v\nbody: %.2000s", ErrUndocumented, what, status, err, body)
	}
	return nil
}
