package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// Defaults of the optional keys.
const (
	defaultAPIBase        = "https://api.line.me"
	defaultReplyWindow    = 50 * time.Second
	maxReplyWindow        = time.Minute
	defaultRequestTimeout = 10 * time.Second
	defaultLoadingSeconds = 10
)

// Options are the [channels.<name>.options] keys of a LINE instance.
type Options struct {
	// ChannelSecret is the Messaging API channel's secret (Basic settings
	// tab); it keys the webhook signature. Required.
	ChannelSecret string `json:"channel_secret"`
	// AccessToken is a channel access token (Messaging API tab). Required.
	AccessToken string `json:"access_token"`
	// APIBase is the API's base URL; default https://api.line.me.
	APIBase string `json:"api_base"`
	// ReplyWindow is how old (since the event's timestamp) a reply token may
	// be and still be used for a bot answer; older answers are pushed.
	// Default 50s, at most 1m (LINE honours tokens for about a minute);
	// "0s" always pushes.
	ReplyWindow *sdk.Duration `json:"reply_window"`
	// RequestTimeout bounds one call to the LINE API. Default 10s.
	RequestTimeout sdk.Duration `json:"request_timeout"`
	// LoadingSeconds is how long one typing request shows LINE's loading
	// animation: 5 to 60, a multiple of 5. Default 10; the daemon renews it
	// every few seconds while the model works, and LINE removes it as soon as
	// the answer arrives.
	LoadingSeconds int `json:"loading_seconds"`
}

// config is the validated form of Options.
type config struct {
	secret         []byte
	token          string
	apiBase        string
	replyWindow    time.Duration
	requestTimeout time.Duration
	loadingSeconds int
}

// parseOptions decodes and validates the options; every error names the key.
func parseOptions(o sdk.Options) (config, error) {
	var opts Options
	if err := o.Decode(&opts); err != nil {
		return config{}, err
	}
	cfg := config{
		secret:         []byte(opts.ChannelSecret),
		token:          opts.AccessToken,
		apiBase:        opts.APIBase,
		replyWindow:    defaultReplyWindow,
		requestTimeout: time.Duration(opts.RequestTimeout),
		loadingSeconds: opts.LoadingSeconds,
	}
	switch {
	case strings.TrimSpace(opts.ChannelSecret) == "":
		return config{}, errors.New(`option "channel_secret" is required (Basic settings tab of the channel in the LINE Developers Console)`)
	case strings.TrimSpace(opts.AccessToken) == "":
		return config{}, errors.New(`option "access_token" is required (a channel access token from the Messaging API tab)`)
	case strings.ContainsAny(opts.AccessToken, " \t\r\n"):
		return config{}, errors.New(`option "access_token" contains whitespace; paste the token alone`)
	}
	if cfg.apiBase == "" {
		cfg.apiBase = defaultAPIBase
	}
	base, err := sdk.BaseURLOption("api_base", cfg.apiBase)
	if err != nil {
		return config{}, err
	}
	cfg.apiBase = base
	if opts.ReplyWindow != nil {
		cfg.replyWindow = time.Duration(*opts.ReplyWindow)
		if cfg.replyWindow < 0 || cfg.replyWindow > maxReplyWindow {
			return config{}, fmt.Errorf(`option "reply_window": %v is outside 0s..1m (LINE reply tokens last about a minute)`, cfg.replyWindow)
		}
	}
	switch {
	case cfg.requestTimeout == 0:
		cfg.requestTimeout = defaultRequestTimeout
	case cfg.requestTimeout < 0:
		return config{}, fmt.Errorf(`option "request_timeout": %v must be positive`, cfg.requestTimeout)
	}
	switch {
	case cfg.loadingSeconds == 0:
		cfg.loadingSeconds = defaultLoadingSeconds
	case cfg.loadingSeconds < 5 || cfg.loadingSeconds > 60 || cfg.loadingSeconds%5 != 0:
		return config{}, fmt.Errorf(`option "loading_seconds": %d must be 5 to 60 and a multiple of 5`, cfg.loadingSeconds)
	}
	return cfg, nil
}
