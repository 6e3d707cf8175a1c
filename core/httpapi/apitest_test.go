package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/switchboard-chat/switchboard/core/internal/apitest"
)

// checked is an HTTP client whose requests and answers are validated
// against the OpenAPI document.
func checked(t testing.TB) *http.Client { return apitest.New(t, openAPI).Client() }

// serveChecked serves req to h into a recorder and validates the exchange
// against the OpenAPI document.
func serveChecked(t testing.TB, h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	apitest.New(t, openAPI).Recorded(req, body, rec)
	return rec
}
