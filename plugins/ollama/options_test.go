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
		check   func(t *testing.T, o Options)
	}{
		{"model only", map[string]any{"model": "qwen2.5:1.5b"}, func(t *testing.T, o Options) {
			if o.Host != DefaultHost || o.Timeout != DefaultTimeout || o.KeepAlive != nil || o.Temperature != nil || o.NumCtx != nil {
				t.Errorf("defaults: %+v", o)
			}
		}},
		{"everything", map[string]any{
			"host": "https://ollama.example.com/prefix/", "model": "qwen2.5:1.5b", "timeout": "90s",
			"keep_alive": "-1m", "temperature": 0, "num_ctx": 8192,
		}, func(t *testing.T, o Options) {
			if o.Host != "https://ollama.example.com/prefix" || o.Timeout != 90*time.Second ||
				*o.KeepAlive != -time.Minute || *o.Temperature != 0 || *o.NumCtx != 8192 {
				t.Errorf("got %+v", o)
			}
		}},
		{"numbers of seconds", map[string]any{"model": "m", "timeout": 30, "keep_alive": 0}, func(t *testing.T, o Options) {
			if o.Timeout != 30*time.Second || o.KeepAlive == nil || *o.KeepAlive != 0 {
				t.Errorf("got %+v", o)
			}
		}},
		{"nulls are absent", map[string]any{"model": "m", "timeout": nil, "keep_alive": nil}, func(t *testing.T, o Options) {
			if o.Timeout != DefaultTimeout || o.KeepAlive != nil {
				t.Errorf("got %+v", o)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := sdk.NewOptions(tt.options)
			if err != nil {
				t.Fatal(err)
			}
			o, err := ParseOptions(opts)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, o)
		})
	}
}

func TestConfigureRejectsBadOptions(t *testing.T) {
	good := func(extra map[string]any) map[string]any {
		o := map[string]any{"host": "http://127.0.0.1:11434", "model": "qwen2.5:1.5b"}
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
		{"unknown key", good(map[string]any{"temprature": 0.3}), "temprature"},
		{"host not a URL", good(map[string]any{"host": "127.0.0.1:11434"}), "host"},
		{"host not http", good(map[string]any{"host": "ftp://127.0.0.1"}), "host"},
		{"host without host", good(map[string]any{"host": "http://"}), "host"},
		{"host wrong type", good(map[string]any{"host": 11434}), "host"},
		{"missing model", good(map[string]any{"model": nil}), "model"},
		{"blank model", good(map[string]any{"model": "  "}), "model"},
		{"timeout not a duration", good(map[string]any{"timeout": "soon"}), "timeout"},
		{"timeout zero", good(map[string]any{"timeout": "0s"}), "timeout"},
		{"timeout negative", good(map[string]any{"timeout": "-5s"}), "timeout"},
		{"keep_alive not a duration", good(map[string]any{"keep_alive": "forever"}), "keep_alive"},
		{"negative temperature", good(map[string]any{"temperature": -1}), "temperature"},
		{"temperature wrong type", good(map[string]any{"temperature": "hot"}), "temperature"},
		{"num_ctx zero", good(map[string]any{"num_ctx": 0}), "num_ctx"},
		{"num_ctx fraction", good(map[string]any{"num_ctx": 4096.5}), "num_ctx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := plugintest.LLM(t, &LLM{})
			opts, err := sdk.NewOptions(tt.options)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Configure(context.Background(), sdk.ConfigureRequest{Instance: "test", Options: opts})
			if err == nil {
				t.Fatalf("Configure accepted %v", tt.options)
			}
			if sdk.KindOf(err) != sdk.Permanent {
				t.Errorf("kind %s, want permanent", sdk.KindOf(err))
			}
			if !strings.Contains(err.Error(), `"`+tt.key+`"`) {
				t.Errorf("error %q does not name %q", err, tt.key)
			}
		})
	}
}

func TestConfigureReturnsModelWithoutContactingServer(t *testing.T) {
	c := plugintest.LLM(t, &LLM{})
	// Nothing listens there: Configure must still succeed.
	info, err := c.Configure(context.Background(), sdk.ConfigureRequest{Instance: "test", Options: mustOptions(t, map[string]any{
		"host": closedURL(t), "model": "qwen2.5:1.5b",
	})})
	if err != nil {
		t.Fatalf("Configure with the server down: %v", err)
	}
	if info.Model != "qwen2.5:1.5b" {
		t.Errorf("model %q", info.Model)
	}
}
