// The OpenAPI document (openapi.json, served at GET /v1/openapi.json) is
// held to the servers by two kinds of test:
//
//   - TestOpenAPICoversEveryRoute compares the routes that the REST API,
//     the web chat and the console register on their muxes with the
//     document's paths, both ways.
//   - The tests of this package, of core/console, core/webchat and
//     core/integration send their requests through core/internal/apitest,
//     which validates every request and answer against the document.
//
// To add a route:
//
//  1. Register it as the others are (s.route in this package, s.mux in
//     core/webchat, the routes func in core/console): the mux records it.
//  2. Add it under "paths" in openapi.json: an operationId, one tag of the
//     "tags" list, a summary, the parameters (reuse
//     #/components/parameters: id, limit, after), the requestBody, every
//     status it answers with (errors as #/components/responses: BadRequest,
//     Unauthorized, Forbidden, NotFound, Conflict, TooLarge, RateLimited,
//     Internal) and its security (on /v1: apiKey or oauth2 with the scope).
//     Put the shapes of bodies under #/components/schemas, listing every
//     field, the ones always present under "required", with
//     "additionalProperties": false.
//  3. Run go generate ./core/httpapi to regenerate the Postman collection
//     in examples/postman, and go test ./core/httpapi to check.
package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/accounts"
	"github.com/switchboard-chat/switchboard/core/console"
	"github.com/switchboard-chat/switchboard/core/httpapi"
	"github.com/switchboard-chat/switchboard/core/internal/apitest"
	"github.com/switchboard-chat/switchboard/core/live"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/core/webchat"
)

// servedRoutes builds the REST API (with every optional route on), the
// web chat and the console, and returns the patterns they register under
// the documented prefixes, as "METHOD /path/{param}".
func servedRoutes(t *testing.T) []string {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "switchboard.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := logrus.New()
	log.SetOutput(io.Discard)
	acc := accounts.New(st, time.Now)
	api, err := httpapi.New(httpapi.Config{MaxBodyBytes: 1 << 16, OAuthTokenTTL: time.Hour, Operators: acc}, st, nil, nil,
		func() (bool, any) { return true, nil }, log)
	if err != nil {
		t.Fatal(err)
	}
	wc, err := webchat.New(webchat.Config{}, st, nil, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	desk, err := console.New(console.Config{SessionLifetime: time.Hour}, st, nil, live.NewHub(), acc, log)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, pattern := range slices.Concat(api.Routes(), wc.Routes(), desk.Routes()) {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok || method == http.MethodOptions || method == http.MethodHead {
			continue // a catch-all of unknown paths, or CORS preflight
		}
		if !apitest.Described(path) {
			continue
		}
		out = append(out, method+" "+path)
	}
	sort.Strings(out)
	return out
}

// documentedRoutes lists the document's operations as "METHOD /path".
func documentedRoutes(t *testing.T, v *apitest.Validator) []string {
	t.Helper()
	var out []string
	for path, item := range v.Doc().Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

// TestOpenAPICoversEveryRoute fails when a route is served that the
// document lacks, or the document names a route that is not served.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	v := apitest.New(t, httpapi.OpenAPI())
	served := servedRoutes(t)
	documented := documentedRoutes(t, v)
	if len(served) < 60 {
		t.Fatalf("only %d routes found on the servers' muxes: %v", len(served), served)
	}
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("%s is served but missing from openapi.json", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(served, r) {
			t.Errorf("openapi.json names %s, which no server registers", r)
		}
	}
}

// TestOpenAPIScopes: each /v1 route takes an API key or an OAuth token
// with exactly the scope the server demands, and the document lists every
// scope there is.
func TestOpenAPIScopes(t *testing.T) {
	v := apitest.New(t, httpapi.OpenAPI())
	st, err := store.Open(filepath.Join(t.TempDir(), "switchboard.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := logrus.New()
	log.SetOutput(io.Discard)
	api, err := httpapi.New(httpapi.Config{MaxBodyBytes: 1 << 16, OAuthTokenTTL: time.Hour, Operators: accounts.New(st, time.Now)}, st, nil, nil,
		func() (bool, any) { return true, nil }, log)
	if err != nil {
		t.Fatal(err)
	}
	scopes := api.Scopes()
	if len(scopes) < 40 {
		t.Fatalf("only %d scoped routes", len(scopes))
	}
	for pattern, scope := range scopes {
		method, path, _ := strings.Cut(pattern, " ")
		item := v.Doc().Paths.Find(path)
		if item == nil || item.GetOperation(method) == nil {
			continue // TestOpenAPICoversEveryRoute reports it
		}
		op := item.GetOperation(method)
		want := []string{"apiKey", "oauth2:" + scope}
		var got []string
		for _, req := range *op.Security {
			for name, s := range req {
				got = append(got, strings.TrimSuffix(name+":"+strings.Join(s, ","), ":"))
			}
		}
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: security %v, want %v", pattern, got, want)
		}
	}
	flow := v.Doc().Components.SecuritySchemes["oauth2"].Value.Flows.ClientCredentials
	for _, scope := range store.Scopes {
		if _, ok := flow.Scopes[scope]; !ok {
			t.Errorf("the oauth2 scheme lacks the scope %s", scope)
		}
	}
}

// TestOpenAPIDocument checks the document's own consistency: it loads as
// OpenAPI 3.1, every operation has an id, a tag from the tag list, a
// summary, and the error answers on /v1 use the shared shapes.
func TestOpenAPIDocument(t *testing.T) {
	v := apitest.New(t, httpapi.OpenAPI())
	doc := v.Doc()
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi = %q, want 3.1", doc.OpenAPI)
	}
	var tags []string
	for _, tag := range doc.Tags {
		tags = append(tags, tag.Name)
	}
	ids := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.OperationID == "" || op.Summary == "" || len(op.Tags) != 1 || !slices.Contains(tags, op.Tags[0]) {
				t.Errorf("%s: wants an operationId, a summary and one tag of the list %v", where, tags)
			}
			if other, dup := ids[op.OperationID]; dup {
				t.Errorf("%s: operationId %q is also %s's", where, op.OperationID, other)
			}
			ids[op.OperationID] = where
			if op.Security == nil {
				t.Errorf("%s: says nothing of its credentials (security)", where)
			}
			if strings.HasPrefix(path, "/v1/") && path != "/v1/openapi.json" && op.Responses.Status(401) == nil {
				t.Errorf("%s: has no 401 answer", where)
			}
		}
	}
}

// plainServer serves the API of an empty store with nothing else
// configured.
func plainServer(t *testing.T) *httptest.Server {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "switchboard.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := logrus.New()
	log.SetOutput(io.Discard)
	s, err := httpapi.New(httpapi.Config{MaxBodyBytes: 1 << 16}, st, nil, nil, func() (bool, any) { return true, nil }, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

// TestServesOpenAPI: the document is served as JSON, without a key, and is
// the committed file.
func TestServesOpenAPI(t *testing.T) {
	srv := plainServer(t)
	v := apitest.New(t, httpapi.OpenAPI())
	client := v.Client()
	resp, err := client.Get(srv.URL + "/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || doc["openapi"] != "3.1.0" {
		t.Fatalf("GET /v1/openapi.json: %d %s openapi=%v", resp.StatusCode, resp.Header.Get("Content-Type"), doc["openapi"])
	}
	for path, want := range map[string]string{"/docs/": "docs.js", "/docs/docs.js": "openapi.json", "/docs/docs.css": "nav"} {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", srv.URL+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("GET %s: %d, CSP %q, body without %q", path, resp.StatusCode, resp.Header.Get("Content-Security-Policy"), want)
		}
	}
	if v.Checked() != 1 {
		t.Errorf("%d exchanges validated, want 1 (the document itself)", v.Checked())
	}
}
