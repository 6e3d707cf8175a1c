package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/switchboard-chat/switchboard/sdk"
)

// Modes of receiving updates.
const (
	modeWebhook = "webhook"
	modePolling = "polling"
)

// defaultAPIBase is Telegram's Bot API server.
const defaultAPIBase = "https://api.telegram.org"

// Options are the [channels.<name>.options] keys of a Telegram instance.
type Options struct {
	// Token is the bot token from @BotFather, "<bot id>:<secret>".
	Token string `json:"token"`
	// APIBase is the Bot API server; default https://api.telegram.org.
	APIBase string `json:"api_base"`
	// Mode is "webhook" (default) or "polling".
	Mode string `json:"mode"`
	// SecretToken must arrive in the X-Telegram-Bot-Api-Secret-Token
	// header of every webhook; required in webhook mode.
	SecretToken string `json:"secret_token"`
	// PublicURL, in webhook mode, is the daemon's public base URL: the
	// plugin then registers <public_url>/webhooks/<instance> with
	// setWebhook when it starts.
	PublicURL string `json:"public_url"`
}

// validate checks the options and fills in defaults. Errors name the key.
func (o *Options) validate() error {
	if o.Token == "" {
		return fmt.Errorf(`option "token" is required (the bot token from @BotFather)`)
	}
	if _, err := botIDFromToken(o.Token); err != nil {
		return fmt.Errorf(`option "token": %w`, err)
	}
	if o.APIBase == "" {
		o.APIBase = defaultAPIBase
	}
	base, err := sdk.BaseURLOption("api_base", o.APIBase)
	if err != nil {
		return err
	}
	o.APIBase = base
	if o.Mode == "" {
		o.Mode = modeWebhook
	}
	switch o.Mode {
	case modeWebhook:
		if o.SecretToken == "" {
			return fmt.Errorf(`option "secret_token" is required in webhook mode (1-256 characters of A-Z a-z 0-9 _ -)`)
		}
	case modePolling:
		if o.PublicURL != "" {
			return fmt.Errorf(`option "public_url" only applies to mode "webhook"; polling needs no public URL`)
		}
	default:
		return fmt.Errorf(`option "mode": %q is neither "webhook" nor "polling"`, o.Mode)
	}
	if o.SecretToken != "" && !validSecret(o.SecretToken) {
		return fmt.Errorf(`option "secret_token": must be 1-256 characters of A-Z a-z 0-9 _ - (Telegram's rule)`)
	}
	if o.PublicURL != "" {
		public, err := sdk.BaseURLOption("public_url", o.PublicURL)
		if err != nil {
			return err
		}
		o.PublicURL = public
	}
	return nil
}

// botIDFromToken returns the bot's user id, the token's numeric prefix.
// The error never contains the token.
func botIDFromToken(token string) (int64, error) {
	id, secret, ok := strings.Cut(token, ":")
	if !ok || id == "" || secret == "" {
		return 0, fmt.Errorf(`not a bot token: want "<digits>:<secret>"`)
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 || strings.TrimLeft(id, "0123456789") != "" {
		return 0, fmt.Errorf(`not a bot token: the part before ":" must be the bot's numeric id`)
	}
	for _, c := range secret {
		if c <= ' ' || c == '/' || c == '?' || c == '#' || c == 0x7f {
			return 0, fmt.Errorf(`not a bot token: the part after ":" has a character a token cannot have`)
		}
	}
	return n, nil
}

// validSecret applies setWebhook's rule for secret_token: 1-256 characters,
// only A-Z, a-z, 0-9, _ and -.
func validSecret(s string) bool {
	if len(s) < 1 || len(s) > 256 {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
