// Package config loads, defaults, overrides and validates Switchboard's TOML
// configuration.
//
// A configuration is built in three layers, later ones winning:
//
//  1. the defaults returned by [Default];
//  2. the TOML file given to [Load];
//  3. environment variables named SWITCHBOARD_<SECTION>__<KEY>[__<KEY>…]:
//     the prefix is stripped, the name is lower-cased and every "__" separates
//     two levels, so SWITCHBOARD_CHANNELS__TG__OPTIONS__TOKEN sets
//     channels.tg.options.token and SWITCHBOARD_SERVER__MAX_BODY_BYTES sets
//     server.max_body_bytes.
//
// Environment values are strings. For the typed keys of the core sections they
// are converted to the key's type: integers and booleans are parsed, durations
// read like in the file, and lists (api.keys, handoff.keywords) are split on
// commas with surrounding spaces trimmed ("" is the empty list). Values set
// inside channels.<name>.options or llm.options stay strings: the plugin
// validates its own options. Because names are lower-cased, the environment
// can only set lower-case keys. Variables carrying the prefix but no "__"
// (such as SWITCHBOARD_CONFIG) cannot name a key, since every key lives in a
// section, and are ignored.
//
// Relative paths (plugins.dir, server.data_dir) are relative to the working
// directory of the daemon process, not to the config file.
package config

import (
	"net"
	"path/filepath"
	"strings"
	"time"
)

// EnvPrefix starts the name of every environment variable that overrides a
// config key.
const EnvPrefix = "SWITCHBOARD_"

// DBFileName is the name of the bbolt database file inside server.data_dir.
const DBFileName = "switchboard.db"

// Config is the daemon's whole configuration.
//
// Each field tagged `toml:"…"` is a top-level section, and the set of these
// tags is exactly the set of allowed top-level keys: a TOML key not listed
// here is reported as an unknown section. To add a section (delivery, alerts,
// retention…), add a field here, its defaults in [Default] and its checks in
// validate.go; loading, unknown-key detection and environment overrides follow
// from the struct.
type Config struct {
	// Server is the [server] section: HTTP listener and storage.
	Server Server `toml:"server"`
	// Log is the log table: level and format.
	Log Log `toml:"log"`
	// Plugins is the [plugins] section: where plugin binaries live.
	Plugins Plugins `toml:"plugins"`
	// API is the [api] section of the built-in REST channel (/v1).
	API API `toml:"api"`
	// Channels are the [channels.<name>] channel instances, keyed by name.
	// The name is also the webhook path: /webhooks/<name>.
	Channels map[string]Channel `toml:"channels"`
	// LLM is the [llm] section; nil when absent, in which case the daemon
	// runs without a model as a pure bridge.
	LLM *LLM `toml:"llm"`
	// Bot is the [bot] section: what the model is told and what it says.
	Bot Bot `toml:"bot"`
	// Handoff is the [handoff] section: passing conversations to humans.
	Handoff Handoff `toml:"handoff"`
	// Delivery is the [delivery] section: retries of outgoing messages.
	Delivery Delivery `toml:"delivery"`
	// Alerts is the [alerts] section: where operational alerts go.
	Alerts Alerts `toml:"alerts"`
	// Retention is the [retention] section: how long data is kept.
	Retention Retention `toml:"retention"`
	// WebChat is the [webchat] section: the built-in web chat channel.
	WebChat WebChat `toml:"webchat"`
	// Events is the [events] section: the event log and the delivery of
	// its events to webhooks.
	Events Events `toml:"events"`
	// Webhooks are the [[webhooks]] subscriptions to events.
	Webhooks []Webhook `toml:"webhooks"`
	// OAuth is the [oauth] section: the OAuth 2.0 token endpoint.
	OAuth OAuth `toml:"oauth"`
	// Console is the [console] section: the operators' web console.
	Console Console `toml:"console"`
	// KB is the [kb] section: the knowledge base (kb.go).
	KB KB `toml:"kb"`
	// Departments are the [[departments]] that serve handoffs
	// (routing.go).
	Departments []Department `toml:"departments"`
	// Routing is the [routing] section: classification of handoffs and
	// assignment to operators (routing.go).
	Routing Routing `toml:"routing"`
	// Hours is the [hours] section: opening hours (tickets.go).
	Hours Hours `toml:"hours"`
	// CRM is the [crm] section: customer lookup (tickets.go).
	CRM CRM `toml:"crm"`
	// CSAT is the [csat] section: satisfaction ratings.
	CSAT CSAT `toml:"csat"`
}

// CSAT is the [csat] section: after a conversation an operator served is
// closed, the visitor is asked to rate it from 1 to 5.
type CSAT struct {
	// Enabled asks for the rating.
	Enabled bool `toml:"enabled"`
	// Question asks for it, with one to five star buttons where the channel
	// has them (the web chat shows its own stars instead).
	Question string `toml:"question"`
	// Thanks answers a rating; "" says nothing.
	Thanks string `toml:"thanks"`
	// Window is how long the question takes an answer; 0 for ever.
	Window time.Duration `toml:"window"`
}

// WebChat is the [webchat] section: the built-in channel "web", a chat
// widget for web sites and a full-page chat served by the daemon under /w/.
type WebChat struct {
	// Enabled serves the widget, the chat page and the visitor API.
	Enabled bool `toml:"enabled"`
	// AllowedOrigins are the web sites (scheme://host[:port]) that may embed
	// the widget and call the visitor API from their pages; "*" allows
	// every site. The daemon's own pages are always allowed.
	AllowedOrigins []string `toml:"allowed_origins"`
	// Title is the heading of the chat window.
	Title string `toml:"title"`
	// Color is the widget's accent color, as #rgb or #rrggbb.
	Color string `toml:"color"`
	// IdentitySecret verifies visitors the embedding site has signed in:
	// identifier_hash must be the hex HMAC-SHA256 of identifier under this
	// secret. "" turns identified sessions off.
	IdentitySecret string `toml:"identity_secret"`
	// MaxMessageChars is the longest visitor message, in characters.
	MaxMessageChars int `toml:"max_message_chars"`
	// RatePerVisitor is how many messages a visitor may send per minute
	// (with short bursts); 0 means no limit.
	RatePerVisitor int `toml:"rate_per_visitor"`
	// RatePerAddress is how many messages and new sessions one network
	// address may send per minute, all visitors together; 0 means no limit.
	RatePerAddress int `toml:"rate_per_address"`
}

// Events is the [events] section.
type Events struct {
	// Retention is how long events are kept in the log: how far back the
	// event stream can resume and a delivery can be sent again.
	Retention time.Duration `toml:"retention"`
	// WebhookTimeout bounds one webhook attempt.
	WebhookTimeout time.Duration `toml:"webhook_timeout"`
	// RetryFor is how long a webhook delivery is retried before it
	// becomes a dead letter.
	RetryFor time.Duration `toml:"retry_for"`
	// PauseAfter pauses a subscription whose deliveries have failed this
	// long, with an alert; 0 never pauses.
	PauseAfter time.Duration `toml:"pause_after"`
}

// Webhook is one [[webhooks]] subscription.
type Webhook struct {
	// URL receives the events as signed POSTs.
	URL string `toml:"url"`
	// Events are the event types sent; empty: all.
	Events []string `toml:"events"`
	// Secret signs the deliveries: "whsec_" and the base64 of 24 to 64
	// random bytes.
	Secret string `toml:"secret"`
	// PreviousSecret, during a rotation, signs them too.
	PreviousSecret string `toml:"previous_secret"`
}

// OAuth is the [oauth] section.
type OAuth struct {
	// TokenTTL is how long an access token from POST /oauth/token is
	// valid.
	TokenTTL time.Duration `toml:"token_ttl"`
}

// Console is the [console] section: the operators' web console (/console/)
// and its API (/op/v1), the built-in desk named "console".
type Console struct {
	// Enabled serves the console.
	Enabled bool `toml:"enabled"`
	// PublicURL is the address operators open the daemon at, such as
	// "https://support.example.com"; it makes the first-start setup link
	// and is trusted as the origin of console requests. Empty: made from
	// server.listen.
	PublicURL string `toml:"public_url"`
	// SessionLifetime is how long an operator stays signed in.
	SessionLifetime time.Duration `toml:"session_lifetime"`
}

// Delivery is the [delivery] section.
type Delivery struct {
	// MaxAttempts is how many times a message is tried before it becomes a
	// dead letter.
	MaxAttempts int `toml:"max_attempts"`
	// MaxAge is how long a message is retried before it becomes a dead
	// letter.
	MaxAge time.Duration `toml:"max_age"`
}

// Alerts is the [alerts] section.
type Alerts struct {
	// WebhookURL receives alerts as JSON POSTs; "" logs them only.
	WebhookURL string `toml:"webhook_url"`
	// LLMDownAfter is how long the model may be unreachable before an
	// alert.
	LLMDownAfter time.Duration `toml:"llm_down_after"`
}

// Retention is the [retention] section.
type Retention struct {
	// Transcripts is how long transcript messages are kept; 0 keeps them
	// forever. Pending deliveries are never purged.
	Transcripts time.Duration `toml:"transcripts"`
}

// Server is the [server] section.
type Server struct {
	// Listen is the HTTP listen address, host:port (host may be empty).
	Listen string `toml:"listen"`
	// DataDir holds the database file; relative to the working directory.
	DataDir string `toml:"data_dir"`
	// MaxBodyBytes caps webhook and API request bodies; larger ones get 413.
	// At most MaxBodyBytesLimit.
	MaxBodyBytes int64 `toml:"max_body_bytes"`
	// ShutdownTimeout is how long SIGTERM waits for in-flight work.
	ShutdownTimeout time.Duration `toml:"shutdown_timeout"`
	// ReadTimeout is how long a request's body may take to arrive; a
	// slower one gets 408 and its connection is closed.
	ReadTimeout time.Duration `toml:"read_timeout"`
	// WriteTimeout is how long an answer may take, from the end of the
	// request's headers; long polls and event streams are exempt.
	WriteTimeout time.Duration `toml:"write_timeout"`
	// MaxConnections caps the connections open at once; a few more are
	// kept for /healthz and /readyz.
	MaxConnections int `toml:"max_connections"`
	// TLSCert and TLSKey, both set, serve HTTPS with these PEM files.
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	// PprofListen, when set, serves Go's profiles (net/http/pprof, under
	// /debug/pprof/) on this loopback address, for diagnosing load.
	PprofListen string `toml:"pprof_listen"`
	// CommitDelay is how long a database commit waits for more writes to
	// share it while writes arrive together; 0 commits each batch at once.
	// At most MaxCommitDelay.
	CommitDelay time.Duration `toml:"commit_delay"`
}

// MaxCommitDelay is the largest server.commit_delay accepted: every
// acknowledgement under load may wait that long.
const MaxCommitDelay = 50 * time.Millisecond

// MaxBodyBytesLimit is the largest server.max_body_bytes accepted: the
// plugin connections are sized from it, and each request in flight may
// hold that much memory.
const MaxBodyBytesLimit = 32 << 20

// Log is the log table: level and format.
type Log struct {
	// Level is a logrus level name: trace, debug, info, warn (or warning),
	// error. Loaded values are lower-cased.
	Level string `toml:"level"`
	// Format is "text" or "json". Loaded values are lower-cased.
	Format string `toml:"format"`
}

// Plugins is the [plugins] section.
type Plugins struct {
	// Dir holds the plugin binaries, each named by its plugin name; relative
	// to the working directory.
	Dir string `toml:"dir"`
	// SHA256 optionally pins plugin binaries: plugin name to the hex SHA-256
	// of its binary. Loaded values are lower-cased.
	SHA256 map[string]string `toml:"sha256"`
}

// API is the [api] section.
type API struct {
	// Keys are the bearer tokens accepted by the /v1 REST API, with every
	// scope; stored keys (switchboard apikey create) can be narrower.
	Keys []string `toml:"keys"`
	// AllowIPs limits every /v1 request to these addresses and CIDRs.
	AllowIPs []string `toml:"allow_ips"`
	// TrustedProxies are the addresses whose X-Forwarded-For header is
	// believed for the client address.
	TrustedProxies []string `toml:"trusted_proxies"`
}

// Channel is one [channels.<name>] channel instance.
type Channel struct {
	// Plugin is the name of the plugin binary serving this channel.
	Plugin string `toml:"plugin"`
	// Options are passed to the plugin unchanged, with the value types the
	// TOML decoder produced (string, int64, float64, bool, []any,
	// map[string]any, date/time values); values set from the environment are
	// strings. Never nil after Load.
	Options map[string]any `toml:"options"`
}

// LLM is the [llm] section.
type LLM struct {
	// Plugin is the name of the model plugin binary.
	Plugin string `toml:"plugin"`
	// Options are passed to the plugin unchanged, like [Channel.Options].
	// Never nil after Load.
	Options map[string]any `toml:"options"`
}

// Bot is the [bot] section.
type Bot struct {
	// SystemPrompt is the model's system prompt.
	SystemPrompt string `toml:"system_prompt"`
	// HandoffMessage is sent to the customer when a human takes over.
	HandoffMessage string `toml:"handoff_message"`
	// FallbackMessage is sent when the model cannot answer.
	FallbackMessage string `toml:"fallback_message"`
	// HistoryMessages is how many transcript turns are sent to the model.
	HistoryMessages int `toml:"history_messages"`
	// Greeting answers a visitor who starts a chat (Telegram /start, LINE
	// follow); "" sends nothing.
	Greeting string `toml:"greeting"`
	// UnsupportedMessage answers what the channel cannot show as text
	// (stickers, voice notes).
	UnsupportedMessage string `toml:"unsupported_message"`
	// SuggestMessage heads the knowledge base's "did you mean" questions,
	// which follow it numbered.
	SuggestMessage string `toml:"suggest_message"`
	// Concurrency bounds simultaneous model calls.
	Concurrency int `toml:"concurrency"`
	// GatherWindow is how long the bot waits after a visitor message for
	// more lines before answering them together; "0s" answers at once.
	GatherWindow time.Duration `toml:"gather_window"`
}

// Handoff is the [handoff] section.
type Handoff struct {
	// Desk is the channel instance acting as the human desk; "" for none.
	Desk string `toml:"desk"`
	// Keywords in a customer message ask for a human.
	Keywords []string `toml:"keywords"`
	// MaxBotFailures is how many consecutive bot failures trigger a handoff.
	MaxBotFailures int `toml:"max_bot_failures"`
	// QueueTimeout is how long a conversation waits for a human.
	QueueTimeout time.Duration `toml:"queue_timeout"`
	// ReturnToBot gives the conversation back to the bot after the handoff.
	ReturnToBot bool `toml:"return_to_bot"`
	// CancelKeywords, typed while waiting for a human, return to the bot.
	// An explicitly empty list is kept as it is: no word cancels.
	CancelKeywords []string `toml:"cancel_keywords"`
	// CancelMessage confirms the return to the bot.
	CancelMessage string `toml:"cancel_message"`
	// TimeoutMessage tells the visitor no operator joined in queue_timeout.
	TimeoutMessage string `toml:"timeout_message"`
	// MissedMessage tells the visitor the desk had no operator available.
	MissedMessage string `toml:"missed_message"`
	// ClosedMessage tells the visitor the operator ended the conversation.
	ClosedMessage string `toml:"closed_message"`
	// WhenUnavailable is what a handoff does when it cannot reach a
	// person (outside [hours], no operator signed in to the console, the
	// desk unreachable, queue_timeout passed): "ticket" or "wait", for
	// every case or case by case.
	WhenUnavailable Unavailable `toml:"when_unavailable"`
	// TicketMessage tells the visitor a ticket was opened; {ticket} is its
	// number.
	TicketMessage string `toml:"ticket_message"`
	// OffHoursTicketMessage is TicketMessage outside opening hours; {back}
	// is when the team is back, in the business's time zone.
	OffHoursTicketMessage string `toml:"off_hours_ticket_message"`
	// OffHoursMessage replaces bot.handoff_message for a handoff that
	// waits outside the opening hours; {back} as above.
	OffHoursMessage string `toml:"off_hours_message"`
}

// Default returns the configuration used for every key the file and the
// environment leave unset. Each call returns a fresh value.
//
// It is the only place a config key's default is written down: the
// packages handed a loaded Config take its values as they are, so an
// explicit zero or empty list in the file means what it says.
func Default() *Config {
	return &Config{
		Server: Server{
			Listen:          "127.0.0.1:8080",
			DataDir:         "data",
			MaxBodyBytes:    1 << 20,
			ShutdownTimeout: 15 * time.Second,
			ReadTimeout:     30 * time.Second,
			WriteTimeout:    60 * time.Second,
			MaxConnections:  10000,
			CommitDelay:     2 * time.Millisecond,
		},
		Log: Log{Level: "info", Format: "text"},
		Plugins: Plugins{
			Dir:    "bin/plugins",
			SHA256: map[string]string{},
		},
		Channels: map[string]Channel{},
		Bot: Bot{
			SystemPrompt:       "You are a helpful customer support assistant. Answer briefly and politely.",
			HandoffMessage:     "I'm connecting you with a colleague, one moment please.",
			FallbackMessage:    "Sorry, I can't answer that right now.",
			HistoryMessages:    20,
			Greeting:           "Hello! How can I help you today?",
			UnsupportedMessage: "Sorry, I can only read text messages. Could you type your question?",
			SuggestMessage:     "Did you mean one of these? Reply with its number.",
			Concurrency:        4,
			GatherWindow:       300 * time.Millisecond,
		},
		Delivery: Delivery{MaxAttempts: 12, MaxAge: 24 * time.Hour},
		Events: Events{
			Retention:      72 * time.Hour,
			WebhookTimeout: 15 * time.Second,
			RetryFor:       24 * time.Hour,
			PauseAfter:     time.Hour,
		},
		Alerts:    Alerts{LLMDownAfter: 5 * time.Minute},
		Retention: Retention{},
		WebChat: WebChat{
			Title:           "Chat with us",
			Color:           "#4f46e5",
			MaxMessageChars: 4000,
			RatePerVisitor:  30,
			RatePerAddress:  120,
		},
		OAuth:   OAuth{TokenTTL: time.Hour},
		Console: Console{Enabled: true, SessionLifetime: 12 * time.Hour},
		KB:      defaultKB(),
		Routing: defaultRouting(),
		CSAT: CSAT{
			Enabled:  true,
			Question: "How would you rate the help you got? Choose or reply with a number from 1 (poor) to 5 (excellent).",
			Thanks:   "Thank you for your rating!",
			Window:   24 * time.Hour,
		},
		Handoff: Handoff{
			Keywords:       []string{"human", "agent", "operator", "人工", "转人工"},
			MaxBotFailures: 2,
			QueueTimeout:   10 * time.Minute,
			ReturnToBot:    true,
			CancelKeywords: []string{"bot", "cancel"},
			CancelMessage:  "OK, you're back with the assistant. How can I help?",
			TimeoutMessage: "Sorry, no colleague could join in time. I'll keep helping you here.",
			MissedMessage:  "Sorry, no colleague is available right now. I'll keep helping you here.",
			ClosedMessage:  "Our colleague has ended the conversation. I'm here if you need anything else.",
			// Waiting is what earlier releases did; tickets are work someone
			// must answer, so they are asked for.
			WhenUnavailable:       AllUnavailable(UnavailableWait),
			TicketMessage:         "Nobody from our team can take the chat right now, so I've opened ticket #{ticket} for you. We'll answer you here as soon as we can.",
			OffHoursTicketMessage: "Our team is away right now, so I've opened ticket #{ticket} for you. We're back {back} and will answer you here.",
			OffHoursMessage:       "Our team is away right now. We're back {back}, and a colleague will answer you here then.",
		},
		Hours: Hours{Holidays: []string{}},
		CRM:   CRM{Timeout: 3 * time.Second},
	}
}

// BaseURL is the address the daemon is reached at: console.public_url
// when set (without a trailing slash), else made from server.listen
// (https with TLS; a wildcard host becomes 127.0.0.1).
func (c *Config) BaseURL() string {
	if u := strings.TrimRight(c.Console.PublicURL, "/"); u != "" {
		return u
	}
	scheme := "http"
	if c.Server.TLSCert != "" {
		scheme = "https"
	}
	host, port, _ := net.SplitHostPort(c.Server.Listen)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// DBPath is the path of the bbolt database file: <server.data_dir>/switchboard.db.
func (c *Config) DBPath() string {
	return filepath.Join(c.Server.DataDir, DBFileName)
}

// PluginPath is the path of the binary of the named plugin: <plugins.dir>/<name>.
func (c *Config) PluginPath(name string) string {
	return filepath.Join(c.Plugins.Dir, name)
}
