package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// TextLimit is LINE's longest text message, in UTF-16 code units.
const TextLimit = 5000

// maxMessagesPerCall is how many message objects one reply or push takes.
const maxMessagesPerCall = 5

// healthTimeout bounds the health probe.
const healthTimeout = 5 * time.Second

// Channel is the LINE channel. Create it with [NewChannel]; it is safe for
// concurrent use once configured.
type Channel struct {
	log *slog.Logger
	now func() time.Time

	cfg    atomic.Pointer[config]
	client *http.Client
	tokens usedTokens
}

// NewChannel returns an unconfigured LINE channel that logs to log.
func NewChannel(log *slog.Logger) *Channel {
	return &Channel{log: log, now: time.Now, client: sdk.NewHTTPClient(0)}
}

// Configure validates the options and reports the channel's capabilities.
func (c *Channel) Configure(_ context.Context, req sdk.ConfigureRequest) (sdk.Capabilities, error) {
	cfg, err := parseOptions(req.Options)
	if err != nil {
		return sdk.Capabilities{}, err
	}
	c.cfg.Store(&cfg)
	// No operation is declared idempotent: LINE drops repeated pushes with
	// the same X-Line-Retry-Key, but a text may go out as a reply, whose
	// token LINE does not deduplicate. A push whose answer was lost is
	// reported Temporary by sendText itself, since its retry is safe.
	return sdk.Capabilities{TextLimit: TextLimit, Typing: true}, nil
}

// config returns the options, or an error before Configure succeeded.
func (c *Channel) config() (*config, error) {
	cfg := c.cfg.Load()
	if cfg == nil {
		return nil, sdk.Errorf(sdk.Permanent, "line channel is not configured")
	}
	return cfg, nil
}

// Health asks LINE for the bot's info with the access token.
func (c *Channel) Health(ctx context.Context) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	res := c.call(ctx, cfg, http.MethodGet, "/v2/bot/info", nil, nil)
	switch {
	case res.err != nil:
		return sdk.NewError(sdk.Unavailable, fmt.Errorf("line bot info: %w", res.err))
	case res.status == http.StatusUnauthorized:
		return sdk.NewError(sdk.Permanent, fmt.Errorf("line bot info: access token rejected: %s", res.describe()))
	case res.status >= 300:
		return sdk.NewError(sdk.Unavailable, fmt.Errorf("line bot info: %s", res.describe()))
	}
	return nil
}

// usedTokens remembers which delivery used or was refused each reply
// token. A retry of that delivery must not send again; another delivery
// with the same token (which the daemon does not produce: the token is a
// once. key) goes straight to the Push API.
type usedTokens struct {
	mu   sync.Mutex
	seen map[string]usedToken
}

type usedToken struct {
	by string // the Outbound.ID that used it
	at time.Time
}

// tokenMemory is how long a used token is remembered: longer than any
// reply window.
const tokenMemory = 2 * maxReplyWindow

func (u *usedTokens) add(token, by string, now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.seen == nil {
		u.seen = map[string]usedToken{}
	}
	for t, used := range u.seen {
		if now.Sub(used.at) > tokenMemory {
			delete(u.seen, t)
		}
	}
	u.seen[token] = usedToken{by: by, at: now}
}

// usedBy returns the delivery that used token, if any.
func (u *usedTokens) usedBy(token string) (string, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	used, ok := u.seen[token]
	return used.by, ok
}
