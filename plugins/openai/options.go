package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// DefaultTimeout bounds one chat turn or embeddings call unless the config
// says otherwise.
const DefaultTimeout = 60 * time.Second

// exampleBaseURL is shown in messages about a missing or bad base_url.
const exampleBaseURL = "http://127.0.0.1:8000/v1"

// Options are the [llm.options] keys this plugin understands, after
// validation and defaults.
type Options struct {
	// BaseURL is the server's OpenAI-compatible API root (key "base_url"),
	// the URL that /chat/completions, /embeddings and /models are
	// appended to, without a trailing slash. Required.
	BaseURL string
	// Model is the model id every chat and embeddings request names (key
	// "model"). Required.
	Model string
	// APIKey, when set, is sent as "Authorization: Bearer <key>" (key
	// "api_key"). Never logged.
	APIKey string
	// Timeout bounds one whole turn, from the request to the end of the
	// stream (key "timeout"). Default DefaultTimeout.
	Timeout time.Duration
}

// rawOptions is the options table as decoded, before validation. The
// duration stays raw so that a bad value can be reported with its key.
type rawOptions struct {
	BaseURL string          `json:"base_url"`
	Model   string          `json:"model"`
	APIKey  string          `json:"api_key"`
	Timeout json.RawMessage `json:"timeout"`
}

// ParseOptions decodes and validates an options table. Unknown keys, values
// of the wrong type and invalid values are errors that name the key.
func ParseOptions(o sdk.Options) (Options, error) {
	var raw rawOptions
	if err := o.Decode(&raw); err != nil {
		return Options{}, err
	}
	base, err := parseBaseURL(raw.BaseURL)
	if err != nil {
		return Options{}, err
	}
	opts := Options{BaseURL: base, Model: strings.TrimSpace(raw.Model), APIKey: strings.TrimSpace(raw.APIKey), Timeout: DefaultTimeout}

	if opts.Model == "" {
		return Options{}, errors.New(`option "model" is required: the model id the server lists at GET <base_url>/models (for example model = "qwen2.5-7b-instruct")`)
	}
	if strings.ContainsAny(opts.APIKey, "\r\n\t ") {
		return Options{}, errors.New(`option "api_key": must not contain spaces or line breaks`)
	}

	if len(raw.Timeout) > 0 && string(raw.Timeout) != "null" {
		var d sdk.Duration
		if err := d.UnmarshalJSON(raw.Timeout); err != nil {
			return Options{}, fmt.Errorf("option \"timeout\": %w", err)
		}
		if d <= 0 {
			return Options{}, fmt.Errorf("option \"timeout\": must be positive, got %s", time.Duration(d))
		}
		opts.Timeout = time.Duration(d)
	}
	return opts, nil
}

// parseBaseURL checks that s is an http(s) URL and returns it without a
// trailing slash.
func parseBaseURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("option \"base_url\" is required: the server's OpenAI-compatible API root (for example base_url = %q)", exampleBaseURL)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("option \"base_url\": %q is not an http(s) URL such as %q", s, exampleBaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("option \"base_url\": %q must not have a query or fragment", s)
	}
	if u.User != nil {
		return "", fmt.Errorf("option \"base_url\": %q must not carry credentials; use api_key", u.Redacted())
	}
	return strings.TrimRight(u.String(), "/"), nil
}
