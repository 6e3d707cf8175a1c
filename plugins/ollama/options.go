package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// Defaults for options the config leaves out.
const (
	// DefaultHost is where a local Ollama listens unless told otherwise.
	DefaultHost = "http://127.0.0.1:11434"
	// DefaultTimeout bounds one chat turn or embedding call.
	DefaultTimeout = 60 * time.Second
)

// Options are the [llm.options] keys this plugin understands, after
// validation and defaults.
type Options struct {
	// Host is the base URL of the Ollama server (key "host"), without a
	// trailing slash. Default DefaultHost.
	Host string
	// Model is the model every chat and embedding uses (key "model").
	// Required.
	Model string
	// Timeout bounds one whole turn, from the request to the final chunk
	// (key "timeout"). Default DefaultTimeout.
	Timeout time.Duration
	// KeepAlive, when set, tells Ollama how long to keep the model loaded
	// after a request (key "keep_alive"); negative means forever, zero
	// unloads it at once. Nil leaves Ollama's default (5m).
	KeepAlive *time.Duration
	// Temperature, when set, is the sampling temperature (key
	// "temperature").
	Temperature *float64
	// NumCtx, when set, is the context window in tokens (key "num_ctx").
	NumCtx *int
	// EmbedModel, when set, is the model embeddings use instead of Model
	// (key "embed_model"): chat models make poor embeddings, and
	// embedding models such as nomic-embed-text cannot chat.
	EmbedModel string
}

// rawOptions is the options table as decoded, before validation. Durations
// stay raw so that a bad value can be reported with its key.
type rawOptions struct {
	Host        string          `json:"host"`
	Model       string          `json:"model"`
	Timeout     json.RawMessage `json:"timeout"`
	KeepAlive   json.RawMessage `json:"keep_alive"`
	Temperature *float64        `json:"temperature"`
	NumCtx      *int            `json:"num_ctx"`
	EmbedModel  string          `json:"embed_model"`
}

// ParseOptions decodes and validates an options table. Unknown keys, values
// of the wrong type and invalid values are errors that name the key.
func ParseOptions(o sdk.Options) (Options, error) {
	var raw rawOptions
	if err := o.Decode(&raw); err != nil {
		return Options{}, err
	}

	host, err := parseHost(raw.Host)
	if err != nil {
		return Options{}, err
	}
	opts := Options{Host: host, Model: strings.TrimSpace(raw.Model), Timeout: DefaultTimeout, EmbedModel: strings.TrimSpace(raw.EmbedModel)}

	if opts.Model == "" {
		return Options{}, errors.New(`option "model" is required (for example model = "qwen2.5:1.5b")`)
	}

	if timeout, set, err := parseDuration("timeout", raw.Timeout); err != nil {
		return Options{}, err
	} else if set {
		if timeout <= 0 {
			return Options{}, fmt.Errorf("option \"timeout\": must be positive, got %s", timeout)
		}
		opts.Timeout = timeout
	}

	if keepAlive, set, err := parseDuration("keep_alive", raw.KeepAlive); err != nil {
		return Options{}, err
	} else if set {
		opts.KeepAlive = &keepAlive
	}

	if raw.Temperature != nil && *raw.Temperature < 0 {
		return Options{}, fmt.Errorf("option \"temperature\": must not be negative, got %g", *raw.Temperature)
	}
	opts.Temperature = raw.Temperature

	if raw.NumCtx != nil && *raw.NumCtx <= 0 {
		return Options{}, fmt.Errorf("option \"num_ctx\": must be positive, got %d", *raw.NumCtx)
	}
	opts.NumCtx = raw.NumCtx

	return opts, nil
}

// parseHost checks that s is an http(s) base URL and returns it without a
// trailing slash; empty means DefaultHost.
func parseHost(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultHost, nil
	}
	return sdk.BaseURLOption("host", s)
}

// parseDuration decodes an optional duration ("60s", or a number of
// seconds); set is false when the key is absent or null.
func parseDuration(key string, raw json.RawMessage) (d time.Duration, set bool, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false, nil
	}
	var v sdk.Duration
	if err := v.UnmarshalJSON(raw); err != nil {
		return 0, false, fmt.Errorf("option %q: %w", key, err)
	}
	return time.Duration(v), true, nil
}
