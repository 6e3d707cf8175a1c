package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard-chat/switchboard/core/httpapi"
)

// committed is the collection in the repository.
var committed = filepath.Join("..", "..", "..", "examples", "postman", "switchboard.postman_collection.json")

// TestCollectionIsUpToDate fails when the OpenAPI document changed and the
// collection was not generated again (go generate ./core/httpapi).
func TestCollectionIsUpToDate(t *testing.T) {
	want, err := Collection(httpapi.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date: run go generate ./core/httpapi", committed)
	}
}

// TestCollectionHasEveryOperation: a request for each operation, in a
// folder of its tag, with the credentials it takes.
func TestCollectionHasEveryOperation(t *testing.T) {
	data, err := Collection(httpapi.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Item []struct {
			Name string `json:"name"`
			Item []struct {
				Name    string `json:"name"`
				Request struct {
					Method string `json:"method"`
					URL    struct {
						Raw string `json:"raw"`
					} `json:"url"`
					Auth *struct {
						Type string `json:"type"`
					} `json:"auth"`
					Body *struct {
						Mode string `json:"mode"`
						Raw  string `json:"raw"`
					} `json:"body"`
				} `json:"request"`
			} `json:"item"`
		} `json:"item"`
	}
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	var d struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(httpapi.OpenAPI(), &d); err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, item := range d.Paths {
		want += len(item)
	}
	requests := map[string]string{} // "METHOD raw" → auth type
	bodies := map[string]string{}
	for _, f := range c.Item {
		for _, it := range f.Item {
			key := it.Request.Method + " " + it.Request.URL.Raw
			auth := "inherit"
			if it.Request.Auth != nil {
				auth = it.Request.Auth.Type
			}
			requests[key] = auth
			if it.Request.Body != nil {
				bodies[key] = it.Request.Body.Mode + " " + it.Request.Body.Raw
			}
		}
	}
	if len(requests) != want {
		t.Errorf("%d requests for %d operations", len(requests), want)
	}
	for key, auth := range map[string]string{
		"GET {{baseUrl}}/v1/conversations/:id": "inherit",
		"POST {{baseUrl}}/oauth/token":         "basic",
		"POST {{baseUrl}}/w/v1/messages":       "bearer",
		"GET {{baseUrl}}/w/v1/config":          "noauth",
		"POST {{baseUrl}}/op/v1/login":         "noauth",
	} {
		if requests[key] != auth {
			t.Errorf("%s: auth %q, want %q", key, requests[key], auth)
		}
	}
	if b := bodies["POST {{baseUrl}}/v1/conversations"]; b != "raw {\n  \"user\": {\n    \"id\": \"\"\n  }\n}" {
		t.Errorf("POST /v1/conversations body: %q", b)
	}
}
