package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	gotoml "github.com/pelletier/go-toml/v2"

	"github.com/switchboard-chat/switchboard/plugins/salesiq/siqtest"
	"github.com/switchboard-chat/switchboard/sdk"
)

func TestSetupRegistersTheDataWebhook(t *testing.T) {
	f := siqtest.New(t)
	daemon := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer daemon.Close()
	// The instance's options as the daemon hands them over (the daemon's
	// reading of its config, environment overrides included, is tested in
	// core/integration's setup test).
	toml := strings.Replace(f.TOML("siq"), "public_keys = [", "# no keys yet\n# public_keys = [", 1)
	var file struct {
		Channels map[string]struct {
			Options map[string]any `toml:"options"`
		} `toml:"channels"`
	}
	if err := gotoml.Unmarshal([]byte(toml), &file); err != nil {
		t.Fatal(err)
	}
	opts, err := sdk.NewOptions(file.Channels["siq"].Options)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	setup := func(args ...string) error {
		return (&Channel{}).Setup(context.Background(), sdk.SetupRequest{Instance: "siq", Options: opts, Args: args}, &out)
	}
	if err := setup("--public-url", daemon.URL); err != nil {
		t.Fatal(err)
	}
	hooks := f.Webhooks()
	if len(hooks) != 1 {
		t.Fatalf("webhooks %+v", hooks)
	}
	h := hooks[0]
	events, _ := h["events"].([]any)
	if h["type"] != "data" || h["secured"] != true || h["url"] != daemon.URL+"/webhooks/siq" || len(events) != 4 ||
		!reflect.DeepEqual(h["app_ids"], []any{siqtest.AppID}) {
		t.Errorf("registered %+v", h)
	}
	for _, want := range []string{siqtest.PublicKeyDER(f.Key), "Webhooks", daemon.URL + "/webhooks/siq", siqtest.DepartmentID} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// Running it again registers nothing new.
	out.Reset()
	if err := setup("--public-url", daemon.URL); err != nil || len(f.Webhooks()) != 1 {
		t.Fatalf("second run: %v, %d webhooks", err, len(f.Webhooks()))
	}
}

func TestSetupUsage(t *testing.T) {
	opts, err := sdk.NewOptions(map[string]any{"screen_name": "acme"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no public URL", nil, "--public-url is required"},
		{"unknown flag", []string{"--public-url", "https://x", "--config", "x.toml"}, "-config"},
		{"stray argument", []string{"--public-url", "https://x", "now"}, `unexpected argument "now"`},
		{"help", []string{"-h"}, "salesiq setup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := (&Channel{}).Setup(context.Background(), sdk.SetupRequest{Instance: "siq", Options: opts, Args: tt.args}, &out)
			if !errors.Is(err, sdk.ErrSetupUsage) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "switchboard salesiq setup --config") {
				t.Errorf("error %v, want a usage error about %s", err, tt.want)
			}
			if out.Len() > 0 {
				t.Errorf("printed %q", out.String())
			}
		})
	}
	// Options the plugin cannot use are a failure, not a usage error.
	var out bytes.Buffer
	err = (&Channel{}).Setup(context.Background(), sdk.SetupRequest{Instance: "siq", Options: opts, Args: []string{"--public-url", "https://x"}}, &out)
	if err == nil || errors.Is(err, sdk.ErrSetupUsage) || !strings.Contains(err.Error(), "[channels.siq.options]") {
		t.Errorf("incomplete options: %v", err)
	}
}
