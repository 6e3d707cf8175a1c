package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
	"github.com/switchboard-chat/switchboard/sdk/plugintest"
)

func TestParseOptionsDefaults(t *testing.T) {
	tests := []struct {
		name    string
		options map[string]any
		want    Options
	}{
		{"required only", map[string]any{"base_url": "http://127.0.0.1:8000/v1", "model": "m"},
			Options{BaseURL: "http://127.0.0.1:8000/v1", Model: "m", Timeout: DefaultTimeout}},
		{"everything", map[string]any{"base_url": " https://llm.example.com/openai/v1/ ", "model": " qwen2.5-7b-instruct ",
			"api_key": " sk-abc ", "timeout": "90s"},
			Options{BaseURL: "https://llm.example.com/openai/v1", Model: "qwen2.5-7b-instruct", APIKey: "sk-abc", Timeout: 90 * time.Second}},
		{"timeout in seconds", map[string]any{"base_url": "http://h/v1", "model": "m", "timeout": 30},
			Options{BaseURL: "http://h/v1", Model: "m", Timeout: 30 * time.Second}},
		{"nulls are absent", map[string]any{"base_url": "http://h/v1", "model": "m", "timeout": nil, "api_key": nil},
			Options{BaseURL: "http://h/v1", Model: "m", Timeout: DefaultTimeout}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOptions(mustOptions(t, tt.options))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestConfigureRejectsBadOptions(t *testing.T) {
	good := func(extra map[string]any) map[string]any {
		o := map[string]any{"base_url": "http://127.0.0.1:8000/v1", "model": "qwen2.5-7b-instruct"}
		for k, v := range extra {
			if v == nil {
				delete(o, k)
			} else {
				o[k] = v
			}
		}
		return o
	}
	tests := []struct {
		name    string
		options map[string]any
		key     string // the message must name it
	}{
		{"unknown key", good(map[string]any{"host": "http://127.0.0.1:8000"}), "host"},
		{"missing base_url", good(map[string]any{"base_url": nil}), "base_url"},
		{"base_url not a URL", good(map[string]any{"base_url": "127.0.0.1:8000/v1"}), "base_url"},
		{"base_url not http", good(map[string]any{"base_url": "ftp://127.0.0.1/v1"}), "base_url"},
		{"base_url without host", good(map[string]any{"base_url": "http:///v1"}), "base_url"},
		{"base_url with a query", good(map[string]any{"base_url": "http://h/v1?x=1"}), "base_url"},
		{"base_url with credentials", good(map[string]any{"base_url": "http://user:hunter2@h/v1"}), "base_url"},
		{"base_url wrong type", good(map[string]any{"base_url": 8000}), "base_url"},
		{"missing model", good(map[string]any{"model": nil}), "model"},
		{"blank model", good(map[string]any{"model": "  "}), "model"},
		{"api_key with a space", good(map[string]any{"api_key": "sk-a b"}), "api_key"},
		{"api_key wrong type", good(map[string]any{"api_key": 12345}), "api_key"},
		{"timeout not a duration", good(map[string]any{"timeout": "soon"}), "timeout"},
		{"timeout zero", good(map[string]any{"timeout": "0s"}), "timeout"},
		{"timeout negative", good(map[string]any{"timeout": "-5s"}), "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := plugintest.LLM(t, &LLM{})
			_, err := c.Configure(context.Background(), sdk.ConfigureRequest{Instance: "test", Options: mustOptions(t, tt.options)})
			if err == nil {
				t.Fatalf("Configure accepted %v", tt.options)
			}
			t.Log(err)
			if sdk.KindOf(err) != sdk.Permanent {
				t.Errorf("kind %s, want permanent", sdk.KindOf(err))
			}
			if !strings.Contains(err.Error(), `"`+tt.key+`"`) {
				t.Errorf("error %q does not name %q", err, tt.key)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestConfigureReturnsModelWithoutContactingServer(t *testing.T) {
	c := plugintest.LLM(t, &LLM{})
	// Nothing listens there: Configure must still succeed.
	info, err := c.Configure(context.Background(), sdk.ConfigureRequest{Instance: "test", Options: mustOptions(t, map[string]any{
		"base_url": closedURL(t), "model": testModel,
	})})
	if err != nil {
		t.Fatalf("Configure with the server down: %v", err)
	}
	if info.Model != testModel {
		t.Errorf("model %q", info.Model)
	}
}
