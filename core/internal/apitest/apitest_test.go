package apitest

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const doc = `{
  "openapi": "3.1.0",
  "info": {"title": "t", "version": "1"},
  "servers": [{"url": "/"}],
  "paths": {
    "/v1/things/{id}": {
      "post": {
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
          "type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"], "additionalProperties": false}}}},
        "responses": {
          "200": {"description": "ok", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"], "additionalProperties": false}}}},
          "400": {"description": "bad", "content": {"application/json": {"schema": {"type": "object"}}}}
        }
      }
    }
  }
}`

func TestCheck(t *testing.T) {
	v := New(t, []byte(doc))
	for _, tc := range []struct {
		name, method, path, reqBody string
		status                      int
		respBody                    string
		ok                          bool
	}{
		{"a documented exchange", "POST", "/v1/things/a", `{"n":1}`, 200, `{"id":"a"}`, true},
		{"a refused bad request", "POST", "/v1/things/a", `{"n":"x"}`, 400, `{}`, true},
		{"an accepted bad request", "POST", "/v1/things/a", `{"n":"x"}`, 200, `{"id":"a"}`, false},
		{"a renamed answer field", "POST", "/v1/things/a", `{"n":1}`, 200, `{"ident":"a"}`, false},
		{"an extra answer field", "POST", "/v1/things/a", `{"n":1}`, 200, `{"id":"a","x":1}`, false},
		{"an undocumented status", "POST", "/v1/things/a", `{"n":1}`, 201, `{"id":"a"}`, false},
		{"an undocumented route answered", "GET", "/v1/other", "", 200, `{}`, false},
		{"an undocumented route refused", "GET", "/v1/other", "", 404, `{}`, true},
		{"a path outside the document", "GET", "/healthz", "", 200, `{}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.reqBody))
			h := http.Header{"Content-Type": {"application/json"}}
			err := v.Check(req, []byte(tc.reqBody), tc.status, h, []byte(tc.respBody))
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrUndocumented)) {
				t.Fatalf("Check = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
