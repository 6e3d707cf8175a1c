package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeConfig writes a TOML file into a temp dir and returns its path.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadString loads content (no file when empty) with the given environment.
func loadString(t *testing.T, content string, environ ...string) (*Config, error) {
	t.Helper()
	path := ""
	if content != "" {
		path = writeConfig(t, content)
	}
	return Load(path, environ)
}

// problemsOf returns the problems of a *ValidationError, failing otherwise.
func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a *ValidationError, got %T: %v", err, err)
	}
	return ve.Problems
}

func TestLoadFullExample(t *testing.T) {
	cfg, err := Load(filepath.Join("testdata", "full.toml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Server: Server{
			Listen:          "127.0.0.1:8080",
			DataDir:         "data",
			MaxBodyBytes:    1048576,
			ShutdownTimeout: 15 * time.Second,
			ReadTimeout:     20 * time.Second,
			WriteTimeout:    45 * time.Second,
			MaxConnections:  500,
			CommitDelay:     3 * time.Millisecond,
		},
		Log: Log{Level: "info", Format: "text"},
		Plugins: Plugins{
			Dir: "bin/plugins",
			// Upper-case in the file, normalised.
			SHA256: map[string]string{"echo": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		},
		API: API{Keys: []string{"dev-key-change-me"}},
		Channels: map[string]Channel{
			"demo": {Plugin: "echo", Options: map[string]any{
				"greeting":   "hi",
				"delay_ms":   int64(250),
				"ratio":      0.5,
				"verbose":    true,
				"tags":       []any{"a", "b"},
				"dotted.key": "kept",
				"nested":     map[string]any{"depth": int64(2)},
			}},
			"tg": {Plugin: "telegram", Options: map[string]any{
				"token":         "123:abc",
				"allowed_chats": []any{int64(1), int64(2)},
			}},
		},
		LLM: &LLM{Plugin: "ollama", Options: map[string]any{
			"host":  "http://127.0.0.1:11434",
			"model": "qwen2.5:7b",
		}},
		Bot: Bot{
			SystemPrompt:       "You are the support assistant of ACME.",
			HandoffMessage:     "I'm connecting you with a colleague, one moment please.",
			FallbackMessage:    "Sorry, I can't answer that right now.",
			HistoryMessages:    20,
			Greeting:           "Hello! How can I help you today?",
			UnsupportedMessage: "Sorry, I can only read text messages. Could you type your question?",
			SuggestMessage:     "Did you mean one of these? Reply with its number.",
			Concurrency:        4,
			GatherWindow:       300 * time.Millisecond,
		},
		Handoff: Handoff{
			Desk:                  "tg",
			Keywords:              []string{"human", "agent", "operator", "人工", "转人工"},
			MaxBotFailures:        2,
			QueueTimeout:          10 * time.Minute,
			ReturnToBot:           true,
			CancelKeywords:        []string{"bot", "cancel"},
			CancelMessage:         "OK, you're back with the assistant. How can I help?",
			TimeoutMessage:        "Sorry, no colleague could join in time. I'll keep helping you here.",
			MissedMessage:         "Sorry, no colleague is available right now. I'll keep helping you here.",
			ClosedMessage:         "Our colleague has ended the conversation. I'm here if you need anything else.",
			WhenUnavailable:       AllUnavailable("wait"),
			TicketMessage:         Default().Handoff.TicketMessage,
			OffHoursTicketMessage: Default().Handoff.OffHoursTicketMessage,
			OffHoursMessage:       Default().Handoff.OffHoursMessage,
		},
		Hours:    Hours{Holidays: []string{}},
		CRM:      CRM{Timeout: 3 * time.Second},
		Delivery: Delivery{MaxAttempts: 12, MaxAge: 24 * time.Hour},
		Alerts:   Alerts{LLMDownAfter: 5 * time.Minute},
		WebChat: WebChat{
			Enabled:         true,
			AllowedOrigins:  []string{"https://www.example.com", "http://localhost:3000"},
			Title:           "ACME support",
			Color:           "#0b7285",
			IdentitySecret:  "a-long-random-secret",
			MaxMessageChars: 2000,
			RatePerVisitor:  10,
			RatePerAddress:  0,
		},
		OAuth:   OAuth{TokenTTL: 30 * time.Minute},
		Console: Console{Enabled: true, PublicURL: "https://support.example.com", SessionLifetime: 8 * time.Hour},
		KB:      Default().KB,
		Routing: Default().Routing,
		Events:  Events{Retention: 72 * time.Hour, WebhookTimeout: 15 * time.Second, RetryFor: 24 * time.Hour, PauseAfter: time.Hour},
		CSAT:    Default().CSAT,
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("loaded:\n%#v\nwant:\n%#v", cfg, want)
	}
	if got := cfg.DBPath(); got != filepath.Join("data", "switchboard.db") {
		t.Errorf("DBPath() = %q", got)
	}
	if got := cfg.PluginPath("echo"); got != filepath.Join("bin", "plugins", "echo") {
		t.Errorf("PluginPath() = %q", got)
	}
}

func TestDefaults(t *testing.T) {
	want := &Config{
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
		Log:      Log{Level: "info", Format: "text"},
		Plugins:  Plugins{Dir: "bin/plugins", SHA256: map[string]string{}},
		Channels: map[string]Channel{},
		Bot: Bot{
			SystemPrompt:       Default().Bot.SystemPrompt,
			HandoffMessage:     "I'm connecting you with a colleague, one moment please.",
			FallbackMessage:    "Sorry, I can't answer that right now.",
			HistoryMessages:    20,
			Greeting:           "Hello! How can I help you today?",
			UnsupportedMessage: "Sorry, I can only read text messages. Could you type your question?",
			SuggestMessage:     "Did you mean one of these? Reply with its number.",
			Concurrency:        4,
			GatherWindow:       300 * time.Millisecond,
		},
		Handoff: Handoff{
			Keywords:              []string{"human", "agent", "operator", "人工", "转人工"},
			MaxBotFailures:        2,
			QueueTimeout:          10 * time.Minute,
			ReturnToBot:           true,
			CancelKeywords:        []string{"bot", "cancel"},
			CancelMessage:         "OK, you're back with the assistant. How can I help?",
			TimeoutMessage:        "Sorry, no colleague could join in time. I'll keep helping you here.",
			MissedMessage:         "Sorry, no colleague is available right now. I'll keep helping you here.",
			ClosedMessage:         "Our colleague has ended the conversation. I'm here if you need anything else.",
			WhenUnavailable:       AllUnavailable("wait"),
			TicketMessage:         "Nobody from our team can take the chat right now, so I've opened ticket #{ticket} for you. We'll answer you here as soon as we can.",
			OffHoursTicketMessage: "Our team is away right now, so I've opened ticket #{ticket} for you. We're back {back} and will answer you here.",
			OffHoursMessage:       "Our team is away right now. We're back {back}, and a colleague will answer you here then.",
		},
		Hours:    Hours{Holidays: []string{}},
		CRM:      CRM{Timeout: 3 * time.Second},
		Delivery: Delivery{MaxAttempts: 12, MaxAge: 24 * time.Hour},
		Alerts:   Alerts{LLMDownAfter: 5 * time.Minute},
		WebChat:  WebChat{Title: "Chat with us", Color: "#4f46e5", MaxMessageChars: 4000, RatePerVisitor: 30, RatePerAddress: 120},
		Events:   Events{Retention: 72 * time.Hour, WebhookTimeout: 15 * time.Second, RetryFor: 24 * time.Hour, PauseAfter: time.Hour},
		OAuth:    OAuth{TokenTTL: time.Hour},
		Console:  Console{Enabled: true, SessionLifetime: 12 * time.Hour},
		// The thresholds are calibrated by make eval; they are checked
		// for range below.
		KB: KB{Sources: []string{}, TopK: 4, AnswerThreshold: Default().KB.AnswerThreshold,
			AnswerMargin: Default().KB.AnswerMargin, SuggestThreshold: Default().KB.SuggestThreshold},
		Routing: Routing{DefaultDepartment: "general", MaxChats: 3, OperatorMaxChats: map[string]int{},
			FirstResponse: FirstResponse{Low: 30 * time.Minute, Normal: 10 * time.Minute, High: 5 * time.Minute, Urgent: 2 * time.Minute}},
		CSAT: CSAT{Enabled: true, Question: Default().CSAT.Question, Thanks: "Thank you for your rating!", Window: 24 * time.Hour},
	}
	if want.Bot.SystemPrompt == "" {
		t.Error("default system prompt is empty")
	}
	for _, tc := range []struct {
		name    string
		content string
	}{
		{"no file", ""},
		{"empty file", "# nothing here\n"},
		{"empty sections", "[server]\n[log]\n[plugins]\n[api]\n[channels]\n[bot]\n[handoff]\n"},
		{"unrelated env", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadString(t, tc.content, "PATH=/bin", "SWITCHBOARD_CONFIG=x.toml", "switchboard_server__listen=lower-case prefix is ignored")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg, want) {
				t.Errorf("loaded:\n%#v\nwant:\n%#v", cfg, want)
			}
		})
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
	if Default().DBPath() != filepath.Join("data", "switchboard.db") {
		t.Errorf("default DBPath() = %q", Default().DBPath())
	}
}

func TestEnvOverrides(t *testing.T) {
	const file = `
[server]
listen = "127.0.0.1:9000"
[channels.tg]
plugin = "telegram"
[channels.tg.options]
token = "from-file"
poll = 30
`
	for _, tc := range []struct {
		name  string
		file  string
		env   []string
		check func(t *testing.T, c *Config)
	}{
		{
			name: "listen overrides the file",
			file: file,
			env:  []string{"SWITCHBOARD_SERVER__LISTEN=0.0.0.0:8081"},
			check: func(t *testing.T, c *Config) {
				eq(t, c.Server.Listen, "0.0.0.0:8081")
			},
		},
		{
			name: "integer",
			env:  []string{"SWITCHBOARD_SERVER__MAX_BODY_BYTES=2048"},
			check: func(t *testing.T, c *Config) {
				eq(t, c.Server.MaxBodyBytes, int64(2048))
			},
		},
		{
			name: "boolean",
			env:  []string{"SWITCHBOARD_HANDOFF__RETURN_TO_BOT=false"},
			check: func(t *testing.T, c *Config) {
				eq(t, c.Handoff.ReturnToBot, false)
			},
		},
		{
			name: "api keys, comma-separated",
			env:  []string{"SWITCHBOARD_API__KEYS=a,b"},
			check: func(t *testing.T, c *Config) {
				eq(t, c.API.Keys, []string{"a", "b"})
			},
		},
		{
			name: "keywords, spaces trimmed",
			env:  []string{"SWITCHBOARD_HANDOFF__KEYWORDS=human, 人工 ,help me"},
			check: func(t *testing.T, c *Config) {
				eq(t, c.Handoff.Keywords, []string{"human", "人工", "help me"})
			},
		},
		{
			name: "empty list clears keywords",
			env:  []string{"SWITCHBOARD_HANDOFF__KEYWORDS="},
			check: func(t *testing.T, c *Config) {
				eq(t, c.Handoff.Keywords, []string{})
			},
		},
		{
			name: "duration with days",
			env:  []string{"SWITCHBOARD_HANDOFF__QUEUE_TIMEOUT=1d", "SWITCHBOARD_SERVER__SHUTDOWN_TIMEOUT=30s"},
			check: func(t *testing.T, c *Config) {
				eq(t, c.Handoff.QueueTimeout, 24*time.Hour)
				eq(t, c.Server.ShutdownTimeout, 30*time.Second)
			},
		},
		{
			name: "channel option overrides the file and keeps the others typed",
			file: file,
			env:  []string{"SWITCHBOARD_CHANNELS__TG__OPTIONS__TOKEN=x", "SWITCHBOARD_CHANNELS__TG__OPTIONS__NEW_OPT=42"},
			check: func(t *testing.T, c *Config) {
				eq(t, c.Channels["tg"], Channel{Plugin: "telegram", Options: map[string]any{
					"token":   "x",
					"poll":    int64(30),
					"new_opt": "42", // free-form: stays a string
				}})
			},
		},
		{
			name: "channel defined by the environment alone",
			env:  []string{"SWITCHBOARD_CHANNELS__MY_TG__PLUGIN=telegram", "SWITCHBOARD_CHANNELS__MY_TG__OPTIONS__TOKEN=x"},
			check: func(t *testing.T, c *Config) {
				eq(t, c.Channels, map[string]Channel{"my_tg": {Plugin: "telegram", Options: map[string]any{"token": "x"}}})
			},
		},
		{
			name: "llm enabled by the environment",
			env:  []string{"SWITCHBOARD_LLM__PLUGIN=ollama"},
			check: func(t *testing.T, c *Config) {
				eq(t, c.LLM, &LLM{Plugin: "ollama", Options: map[string]any{}})
			},
		},
		{
			name: "sha256 pin and log level, normalised",
			env: []string{
				"SWITCHBOARD_PLUGINS__SHA256__ECHO=" + strings.Repeat("AB", 32),
				"SWITCHBOARD_LOG__LEVEL=DEBUG",
				"SWITCHBOARD_LOG__FORMAT=json",
			},
			check: func(t *testing.T, c *Config) {
				eq(t, c.Plugins.SHA256, map[string]string{"echo": strings.Repeat("ab", 32)})
				eq(t, c.Log, Log{Level: "debug", Format: "json"})
			},
		},
		{
			name: "history messages and desk",
			file: file,
			env:  []string{"SWITCHBOARD_BOT__HISTORY_MESSAGES=5", "SWITCHBOARD_HANDOFF__DESK=tg"},
			check: func(t *testing.T, c *Config) {
				eq(t, c.Bot.HistoryMessages, 5)
				eq(t, c.Handoff.Desk, "tg")
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadString(t, tc.file, tc.env...)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cfg)
		})
	}
}

func eq[T any](t *testing.T, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

func TestEnvProblems(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    string
		env     []string
		key     string
		message string // substring
	}{
		{name: "bad integer", env: []string{"SWITCHBOARD_SERVER__MAX_BODY_BYTES=1MB"}, key: "server.max_body_bytes", message: `invalid integer "1MB" (from environment variable SWITCHBOARD_SERVER__MAX_BODY_BYTES)`},
		{name: "bad integer over a bad file value", file: "[server]\nmax_body_bytes = \"1MB\"\n", env: []string{"SWITCHBOARD_SERVER__MAX_BODY_BYTES=x"}, key: "server.max_body_bytes", message: `invalid integer "x"`},
		{name: "bad boolean", env: []string{"SWITCHBOARD_HANDOFF__RETURN_TO_BOT=maybe"}, key: "handoff.return_to_bot", message: `invalid boolean "maybe"`},
		{name: "bad duration", env: []string{"SWITCHBOARD_HANDOFF__QUEUE_TIMEOUT=soon"}, key: "handoff.queue_timeout", message: `invalid duration "soon" (from environment variable SWITCHBOARD_HANDOFF__QUEUE_TIMEOUT)`},
		{name: "unknown key", env: []string{"SWITCHBOARD_SERVER__LISTNE=:80"}, key: "server.listne", message: `unknown key (did you mean "listen"?) (from environment variable SWITCHBOARD_SERVER__LISTNE)`},
		{name: "invalid value", env: []string{"SWITCHBOARD_SERVER__LISTEN=8080"}, key: "server.listen", message: "(from environment variable SWITCHBOARD_SERVER__LISTEN)"},
		{name: "empty keyword", env: []string{"SWITCHBOARD_HANDOFF__KEYWORDS=a,,b"}, key: "handoff.keywords[1]", message: "must not be empty (from environment variable SWITCHBOARD_HANDOFF__KEYWORDS)"},
		{name: "empty level", env: []string{"SWITCHBOARD_SERVER____LISTEN=:80"}, key: "SWITCHBOARD_SERVER____LISTEN", message: "malformed environment variable name"},
		{name: "dot in name", env: []string{"SWITCHBOARD_SERVER__LIS.TEN=:80"}, key: "SWITCHBOARD_SERVER__LIS.TEN", message: "malformed environment variable name"},
		{name: "value and table", env: []string{"SWITCHBOARD_LLM__OPTIONS=x", "SWITCHBOARD_LLM__OPTIONS__HOST=y", "SWITCHBOARD_LLM__PLUGIN=ollama"}, key: "llm.options", message: "conflict"},
		{name: "same key twice", env: []string{"SWITCHBOARD_SERVER__LISTEN=:1", "SWITCHBOARD_server__listen=:2"}, key: "server.listen", message: "set by several environment variables"},
		{name: "table set to a string", env: []string{"SWITCHBOARD_CHANNELS__TG=telegram"}, key: "channels.tg", message: "expected a table, got string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadString(t, tc.file, tc.env...)
			assertProblem(t, problemsOf(t, err), tc.key, tc.message)
		})
	}
}

// assertProblem checks that exactly one problem names key, and that its
// message contains message.
func assertProblem(t *testing.T, problems []Problem, key, message string) {
	t.Helper()
	var found []Problem
	for _, p := range problems {
		if p.Key == key {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one problem for %q, got %q", key, problems)
	}
	if !strings.Contains(found[0].Message, message) {
		t.Errorf("problem %q: message does not contain %q", found[0], message)
	}
}

func TestValidation(t *testing.T) {
	// base is a valid config the rows add to or change.
	const base = `
[channels.demo]
plugin = "echo"
`
	for _, tc := range []struct {
		name    string
		toml    string
		key     string
		message string // substring
	}{
		// Unknown keys.
		{"unknown section", base + "[deliveries]\nretries = 3\n", "deliveries", "unknown section"},
		{"unknown delivery key", base + "[delivery]\nretries = 3\n", "delivery.retries", "unknown key"},
		{"bad max attempts", base + "[delivery]\nmax_attempts = 0\n", "delivery.max_attempts", "at least 1"},
		{"bad alert url", base + "[alerts]\nwebhook_url = \"mailto:x\"\n", "alerts.webhook_url", "not an http(s) URL"},
		{"short retention", base + "[retention]\ntranscripts = \"10m\"\n", "retention.transcripts", "at least 1h"},
		{"short token ttl", base + "[oauth]\ntoken_ttl = \"30s\"\n", "oauth.token_ttl", "between 1m and 24h, got 30s"},
		{"long token ttl", base + "[oauth]\ntoken_ttl = \"2d\"\n", "oauth.token_ttl", "between 1m and 24h, got 48h0m0s"},
		{"unknown oauth key", base + "[oauth]\nttl = \"1h\"\n", "oauth.ttl", "unknown key"},
		{"unknown section typo", base + "[sever]\nlisten = \":1\"\n", "sever", `did you mean "server"`},
		{"unknown server key", "[server]\nlistne = \":8080\"\n", "server.listne", `unknown key (did you mean "listen"?)`},
		{"unknown log key", "[log]\nlvl = \"info\"\n", "log.lvl", "unknown key"},
		{"unknown plugins key", "[plugins]\ndirectory = \"x\"\n", "plugins.directory", "unknown key"},
		{"unknown api key", "[api]\nkey = \"x\"\n", "api.key", `did you mean "keys"`},
		{"unknown channel key", base + "plugn = \"echo\"\n", "channels.demo.plugn", "unknown key"},
		{"unknown llm key", "[llm]\nplugin = \"ollama\"\nmodel = \"x\"\n", "llm.model", "unknown key"},
		{"unknown bot key", "[bot]\nprompt = \"x\"\n", "bot.prompt", "unknown key"},
		{"unknown handoff key", "[handoff]\nkeyword = [\"x\"]\n", "handoff.keyword", `did you mean "keywords"`},

		// Wrong types.
		{"string for integer", "[server]\nmax_body_bytes = \"1MB\"\n", "server.max_body_bytes", "expected an integer, got string"},
		{"float for integer", "[bot]\nhistory_messages = 2.5\n", "bot.history_messages", "expected an integer, got float"},
		{"integer for string", "[server]\nlisten = 8080\n", "server.listen", "expected a string, got integer"},
		{"string for boolean", "[handoff]\nreturn_to_bot = \"yes\"\n", "handoff.return_to_bot", "expected a boolean, got string"},
		{"string for array", "[handoff]\nkeywords = \"human\"\n", "handoff.keywords", "expected an array of strings, got string"},
		{"number in string array", "[api]\nkeys = [\"a\", 1]\n", "api.keys[1]", "expected a string, got integer"},
		{"value for section", "server = 1\n", "server", "expected a table, got integer"},
		{"string for channel", "[channels]\ndemo = \"echo\"\n", "channels.demo", "expected a table, got string"},
		{"string for options", base + "options = \"x\"\n", "channels.demo.options", "expected a table, got string"},
		{"string for llm", "llm = \"ollama\"\n", "llm", "expected a table, got string"},
		{"number for sha256", "[plugins.sha256]\necho = 1\n", "plugins.sha256.echo", "expected a string, got integer"},
		{"number for duration", "[server]\nshutdown_timeout = 15\n", "server.shutdown_timeout", `expected a duration string such as "10m", got integer`},
		{"bad duration", "[handoff]\nqueue_timeout = \"10 minutes\"\n", "handoff.queue_timeout", `invalid duration "10 minutes"`},

		// [server]
		{"listen without port", "[server]\nlisten = \"localhost\"\n", "server.listen", "want host:port"},
		{"listen with bad port", "[server]\nlisten = \"127.0.0.1:http\"\n", "server.listen", "invalid port"},
		{"listen port out of range", "[server]\nlisten = \":70000\"\n", "server.listen", "invalid port"},
		{"profiles on every interface", "[server]\npprof_listen = \":6060\"\n", "server.pprof_listen", "not a loopback address"},
		{"profiles on a public address", "[server]\npprof_listen = \"10.0.0.1:6060\"\n", "server.pprof_listen", "not a loopback address"},
		{"profiles without a port", "[server]\npprof_listen = \"127.0.0.1\"\n", "server.pprof_listen", "want host:port"},
		{"empty data dir", "[server]\ndata_dir = \"\"\n", "server.data_dir", "must not be empty"},
		{"zero max body", "[server]\nmax_body_bytes = 0\n", "server.max_body_bytes", "between 1 and 33554432"},
		{"negative max body", "[server]\nmax_body_bytes = -1\n", "server.max_body_bytes", "between 1 and 33554432"},
		{"max body over the limit", "[server]\nmax_body_bytes = 33554433\n", "server.max_body_bytes", "between 1 and 33554432 (32 MiB), got 33554433"},
		{"zero shutdown timeout", "[server]\nshutdown_timeout = \"0s\"\n", "server.shutdown_timeout", "greater than 0"},
		{"zero read timeout", "[server]\nread_timeout = \"0s\"\n", "server.read_timeout", "greater than 0"},
		{"zero write timeout", "[server]\nwrite_timeout = \"0s\"\n", "server.write_timeout", "greater than 0"},
		{"no connections", "[server]\nmax_connections = 0\n", "server.max_connections", "greater than 0"},
		{"negative commit delay", "[server]\ncommit_delay = \"-1ms\"\n", "server.commit_delay", "between 0 and 50ms, got -1ms"},
		{"commit delay over the limit", "[server]\ncommit_delay = \"1s\"\n", "server.commit_delay", "between 0 and 50ms, got 1s"},

		// [log]
		{"log level", "[log]\nlevel = \"verbose\"\n", "log.level", `unknown level "verbose"`},
		{"log format", "[log]\nformat = \"xml\"\n", "log.format", `unknown format "xml"`},

		// [plugins]
		{"empty plugin dir", "[plugins]\ndir = \"\"\n", "plugins.dir", "must not be empty"},
		{"short sha256", "[plugins.sha256]\necho = \"abc\"\n", "plugins.sha256.echo", "64 hex characters"},
		{"non-hex sha256", "[plugins.sha256]\necho = \"" + strings.Repeat("g", 64) + "\"\n", "plugins.sha256.echo", "64 hex characters"},
		{"sha256 plugin name with path", "[plugins.sha256]\n\"../echo\" = \"" + strings.Repeat("0", 64) + "\"\n", `plugins.sha256."../echo"`, "without path separators"},

		// [api]
		{"empty api key", "[api]\nkeys = [\"ok\", \" \"]\n", "api.keys[1]", "must not be empty"},

		// [channels.<name>]
		{"upper-case channel name", "[channels.Demo]\nplugin = \"echo\"\n", "channels.Demo", "invalid channel name"},
		{"channel name starting with -", "[channels.-demo]\nplugin = \"echo\"\n", "channels.-demo", "invalid channel name"},
		{"channel name with dot", "[channels.\"a.b\"]\nplugin = \"echo\"\n", `channels."a.b"`, "invalid channel name"},
		{"channel name too long", "[channels." + strings.Repeat("a", 64) + "]\nplugin = \"echo\"\n", "channels." + strings.Repeat("a", 64), "invalid channel name"},
		{"reserved channel name", "[channels.api]\nplugin = \"echo\"\n", "channels.api", "reserved"},
		{"channel without plugin", "[channels.demo]\n[channels.demo.options]\nx = 1\n", "channels.demo.plugin", "required"},
		{"plugin with path", "[channels.demo]\nplugin = \"../echo\"\n", "channels.demo.plugin", "without path separators"},
		{"plugin with backslash", "[channels.demo]\nplugin = 'bin\\echo'\n", "channels.demo.plugin", "without path separators"},
		{"plugin dot-dot", "[channels.demo]\nplugin = \"..\"\n", "channels.demo.plugin", "without path separators"},
		{"plugin with space", "[channels.demo]\nplugin = \"my echo\"\n", "channels.demo.plugin", "invalid plugin name"},

		// [llm]
		{"llm without plugin", "[llm]\n", "llm.plugin", "required"},
		{"llm options without plugin", "[llm.options]\nhost = \"x\"\n", "llm.plugin", "required"},
		{"llm plugin with path", "[llm]\nplugin = \"/usr/bin/ollama\"\n", "llm.plugin", "without path separators"},

		// [bot]
		{"zero history", "[bot]\nhistory_messages = 0\n", "bot.history_messages", "at least 1"},
		{"empty fallback", "[bot]\nfallback_message = \"\"\n", "bot.fallback_message", "must not be empty"},
		{"empty handoff message", "[bot]\nhandoff_message = \"\"\n", "bot.handoff_message", "must not be empty"},

		// [handoff]
		{"zero bot failures", "[handoff]\nmax_bot_failures = 0\n", "handoff.max_bot_failures", "at least 1"},
		{"negative queue timeout", "[handoff]\nqueue_timeout = \"-1m\"\n", "handoff.queue_timeout", "greater than 0"},
		{"unknown desk", base + "[handoff]\ndesk = \"desk\"\n", "handoff.desk", `no channel named "desk"`},
		// [csat]
		{"empty rating question", "[csat]\nquestion = \" \"\n", "csat.question", "must not be empty"},
		{"negative rating window", "[csat]\nwindow = \"-1h\"\n", "csat.window", "must not be negative"},
		{"empty keyword", "[handoff]\nkeywords = [\"human\", \"\"]\n", "handoff.keywords[1]", "must not be empty"},
		{"channel named web", "[channels.web]\nplugin = \"echo\"\n", "channels.web", "reserved"},
		{"channel named console", "[channels.console]\nplugin = \"echo\"\n", "channels.console", "reserved"},

		// [webchat]
		{"unknown webchat key", "[webchat]\norigins = []\n", "webchat.origins", "known keys are allowed_origins"},
		{"origin with path", "[webchat]\nallowed_origins = [\"https://example.com/shop\"]\n", "webchat.allowed_origins[0]", "without a path"},
		{"origin without scheme", "[webchat]\nallowed_origins = [\"example.com\"]\n", "webchat.allowed_origins[0]", "not an origin"},
		{"origin in upper case", "[webchat]\nallowed_origins = [\"https://Example.com\"]\n", "webchat.allowed_origins[0]", "lower case"},
		{"empty title", "[webchat]\ntitle = \" \"\n", "webchat.title", "1 to 80 characters"},
		{"bad color", "[webchat]\ncolor = \"blue\"\n", "webchat.color", "not a color"},
		{"short identity secret", "[webchat]\nidentity_secret = \"short\"\n", "webchat.identity_secret", "at least 16"},
		{"zero message length", "[webchat]\nmax_message_chars = 0\n", "webchat.max_message_chars", "between 1 and 100000"},
		{"negative visitor rate", "[webchat]\nrate_per_visitor = -1\n", "webchat.rate_per_visitor", "must not be negative"},
		{"negative address rate", "[webchat]\nrate_per_address = -5\n", "webchat.rate_per_address", "must not be negative"},
		{"console desk while the console is off", "[handoff]\ndesk = \"console\"\n[console]\nenabled = false\n", "handoff.desk", "console.enabled = true"},

		// [console]
		{"unknown console key", "[console]\nenable = true\n", "console.enable", `did you mean "enabled"`},
		{"console public url with a path", "[console]\npublic_url = \"https://example.com/support\"\n", "console.public_url", "not an http(s) URL of a host"},
		{"console public url not http", "[console]\npublic_url = \"example.com\"\n", "console.public_url", "not an http(s) URL of a host"},
		{"short session lifetime", "[console]\nsession_lifetime = \"1m\"\n", "console.session_lifetime", "between 5m and 2160h"},
		{"reserved console channel", "[channels.console]\nplugin = \"echo\"\n", "channels.console", "reserved"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadString(t, tc.toml)
			problems := problemsOf(t, err)
			if len(problems) != 1 {
				t.Errorf("want exactly one problem, got %q", problems)
			}
			assertProblem(t, problems, tc.key, tc.message)
		})
	}
}

func TestValidConfigs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		toml  string
		check func(t *testing.T, c *Config)
	}{
		{
			name: "free-form options are not checked",
			toml: "[channels.demo]\nplugin = \"echo\"\n[channels.demo.options]\nanything = 1\nlistne = true\n[channels.demo.options.deep]\nx = [1, \"mixed\", {y = 2}]\n" +
				"[llm]\nplugin = \"ollama\"\n[llm.options]\nwhatever = 1979-05-27T07:32:00Z\n",
			check: func(t *testing.T, c *Config) {
				eq(t, c.Channels["demo"].Options["anything"], any(int64(1)))
				eq(t, c.Channels["demo"].Options["deep"], any(map[string]any{"x": []any{int64(1), "mixed", map[string]any{"y": int64(2)}}}))
				eq(t, c.LLM.Options["whatever"], any(time.Date(1979, 5, 27, 7, 32, 0, 0, time.UTC)))
			},
		},
		{
			name: "profiles on loopback",
			toml: "[server]\npprof_listen = \"[::1]:6060\"\n",
			check: func(t *testing.T, c *Config) {
				eq(t, c.Server.PprofListen, "[::1]:6060")
			},
		},
		{
			name: "the built-in console as the desk",
			toml: "[handoff]\ndesk = \"console\"\n[console]\nsession_lifetime = \"1d\"\n",
			check: func(t *testing.T, c *Config) {
				eq(t, c.Handoff.Desk, "console")
				eq(t, c.Console.SessionLifetime, 24*time.Hour)
			},
		},
		{
			name: "integral float for an integer",
			toml: "[server]\nmax_body_bytes = 2e6\n",
			check: func(t *testing.T, c *Config) {
				eq(t, c.Server.MaxBodyBytes, int64(2000000))
			},
		},
		{
			name: "durations with days",
			toml: "[server]\nshutdown_timeout = \"1m30s\"\n[handoff]\nqueue_timeout = \"1d12h\"\n",
			check: func(t *testing.T, c *Config) {
				eq(t, c.Server.ShutdownTimeout, 90*time.Second)
				eq(t, c.Handoff.QueueTimeout, 36*time.Hour)
			},
		},
		{
			name: "listen on all interfaces, empty lists, channel without options",
			toml: "[server]\nlisten = \":0\"\n[api]\nkeys = []\n[handoff]\nkeywords = []\ndesk = \"desk-1\"\n[channels.desk-1]\nplugin = \"salesiq.v2\"\n",
			check: func(t *testing.T, c *Config) {
				eq(t, c.Server.Listen, ":0")
				eq(t, c.API.Keys, []string{})
				eq(t, c.Handoff.Keywords, []string{})
				eq(t, c.Channels["desk-1"], Channel{Plugin: "salesiq.v2", Options: map[string]any{}})
			},
		},
		{
			name: "the built-in console as the desk, any origin for the widget",
			toml: "[handoff]\ndesk = \"console\"\n[webchat]\nenabled = true\nallowed_origins = [\"*\", \"https://shop.example.com/\"]\ncolor = \"#ABC\"\n",
			check: func(t *testing.T, c *Config) {
				eq(t, c.Handoff.Desk, "console")
				eq(t, c.WebChat.Enabled, true)
				eq(t, c.WebChat.AllowedOrigins, []string{"*", "https://shop.example.com/"})
			},
		},
		{
			name: "warning level alias, upper-case level",
			toml: "[log]\nlevel = \"WARNING\"\nformat = \"JSON\"\n",
			check: func(t *testing.T, c *Config) {
				eq(t, c.Log, Log{Level: "warning", Format: "json"})
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadString(t, tc.toml)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cfg)
		})
	}
}

func TestMultipleProblems(t *testing.T) {
	_, err := loadString(t, `
[server]
listne = ":8080"
max_body_bytes = 0

[log]
level = "loud"

[channels.api]
plugin = "echo"

[channels.tg]
[channels.tg.options]
token = 1

[handoff]
queue_timeout = "10 minutes"
desk = "nowhere"
`, "SWITCHBOARD_BOT__HISTORY_MESSAGES=0")
	problems := problemsOf(t, err)
	var keys []string
	for _, p := range problems {
		keys = append(keys, p.Key)
	}
	wantKeys := []string{
		"bot.history_messages",
		"channels.api",
		"channels.tg.plugin",
		"handoff.desk",
		"handoff.queue_timeout",
		"log.level",
		"server.listne",
		"server.max_body_bytes",
	}
	eq(t, keys, wantKeys)

	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 1+len(wantKeys) {
		t.Fatalf("Error() has %d lines, want %d:\n%s", len(lines), 1+len(wantKeys), err)
	}
	eq(t, lines[0], "invalid configuration (8 problems):")
	eq(t, lines[5], `  handoff.queue_timeout: invalid duration "10 minutes"`)
	eq(t, lines[1], "  bot.history_messages: must be at least 1, got 0 (from environment variable SWITCHBOARD_BOT__HISTORY_MESSAGES)")
}

func TestLoadFileErrors(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.toml"), nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v, want fs.ErrNotExist", err)
	}

	path := writeConfig(t, "[server]\nlisten = \"x\"\n\n[log\n")
	_, err = Load(path, nil)
	var ve *ValidationError
	if err == nil || errors.As(err, &ve) {
		t.Fatalf("syntax error: got %v", err)
	}
	if !strings.Contains(err.Error(), path+":4:") {
		t.Errorf("syntax error %q does not name the line", err)
	}

	path = writeConfig(t, "[server]\nlisten = \"a\"\nlisten = \"b\"\n")
	_, err = Load(path, nil)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "already defined") {
		t.Errorf("duplicate key: got %v", err)
	}
}

func TestValidate(t *testing.T) {
	cfg := Default()
	cfg.Channels["api"] = Channel{Plugin: "echo"}
	cfg.Channels["ok"] = Channel{}
	cfg.Server.Listen = "nope"
	problems := problemsOf(t, cfg.Validate())
	eq(t, problems, []Problem{
		{Key: "channels.api", Message: `channel name "api" is reserved`},
		{Key: "channels.ok.plugin", Message: "required: the name of a plugin binary in plugins.dir"},
		{Key: "server.listen", Message: `invalid address "nope": want host:port, such as 127.0.0.1:8080 or :8080`},
	})
}

func TestCheckPlugins(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("echo", 0o755)
	write("ollama", 0o700)
	write("noexec", 0o644)
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name    string
		plugins map[string]string // channel -> plugin
		llm     string
		dir     string
		want    []Problem
	}{
		{
			name:    "all present",
			plugins: map[string]string{"demo": "echo", "demo2": "echo"},
			llm:     "ollama",
		},
		{
			name:    "missing",
			plugins: map[string]string{"demo": "telegram"},
			want:    []Problem{{Key: "channels.demo.plugin", Message: `plugin binary "` + filepath.Join(dir, "telegram") + `" not found`}},
		},
		{
			name: "missing llm",
			llm:  "openai",
			want: []Problem{{Key: "llm.plugin", Message: `plugin binary "` + filepath.Join(dir, "openai") + `" not found`}},
		},
		{
			name:    "not executable",
			plugins: map[string]string{"demo": "noexec"},
			want:    []Problem{{Key: "channels.demo.plugin", Message: `plugin binary "` + filepath.Join(dir, "noexec") + `" is not executable (chmod +x)`}},
		},
		{
			name:    "directory",
			plugins: map[string]string{"demo": "adir"},
			want:    []Problem{{Key: "channels.demo.plugin", Message: `plugin binary "` + filepath.Join(dir, "adir") + `" is not a regular file`}},
		},
		{
			name:    "invalid names are left to Validate",
			plugins: map[string]string{"demo": "../echo", "demo2": ""},
		},
		{
			name:    "missing plugin directory",
			plugins: map[string]string{"b": "echo", "a": "echo"},
			dir:     filepath.Join(dir, "nope"),
			want: []Problem{
				{Key: "channels.a.plugin", Message: `plugin binary "` + filepath.Join(dir, "nope", "echo") + `" not found`},
				{Key: "channels.b.plugin", Message: `plugin binary "` + filepath.Join(dir, "nope", "echo") + `" not found`},
				{Key: "plugins.dir", Message: `plugin directory "` + filepath.Join(dir, "nope") + `" not found`},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Default()
			cfg.Plugins.Dir = dir
			if tc.dir != "" {
				cfg.Plugins.Dir = tc.dir
			}
			for name, plugin := range tc.plugins {
				cfg.Channels[name] = Channel{Plugin: plugin}
			}
			if tc.llm != "" {
				cfg.LLM = &LLM{Plugin: tc.llm}
			}
			eq(t, cfg.CheckPlugins(), tc.want)
		})
	}

	t.Run("relative to the working directory", func(t *testing.T) {
		t.Chdir(dir)
		cfg := Default()
		cfg.Plugins.Dir = "."
		cfg.Channels["demo"] = Channel{Plugin: "echo"}
		eq(t, cfg.CheckPlugins(), []Problem(nil))
	})
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{in: "15s", want: 15 * time.Second},
		{in: "10m", want: 10 * time.Minute},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "90d", want: 90 * 24 * time.Hour},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "1.5d", want: 36 * time.Hour},
		{in: ".5d", want: 12 * time.Hour},
		{in: "-1d", want: -24 * time.Hour},
		{in: "0.001d", want: 86400 * time.Millisecond},
		{in: "0", want: 0},
		{in: "", err: true},
		{in: "d", err: true},
		{in: "1dd", err: true},
		{in: "1.2.3d", err: true},
		{in: "10 minutes", err: true},
		{in: "5days", err: true},
		{in: "100000000d", err: true}, // overflows time.Duration
	} {
		got, err := ParseDuration(tc.in)
		if tc.err {
			if err == nil {
				t.Errorf("ParseDuration(%q) = %v, want an error", tc.in, got)
			} else if want := `invalid duration "` + tc.in + `"`; err.Error() != want {
				t.Errorf("ParseDuration(%q) error = %q, want %q", tc.in, err, want)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestKBSection(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		content string
		env     []string
		want    map[string]string // key → part of the message; nil: valid
	}{
		{"defaults", "", nil, nil},
		{"all keys", "[kb]\nsources = [\"" + dir + "\"]\ntop_k = 6\nanswer_threshold = 0.5\nanswer_margin = 0.1\nsuggest_threshold = 0.3\n", nil, nil},
		{"integer threshold", "[kb]\nanswer_threshold = 1\n", nil, nil},
		{"env floats", "", []string{"SWITCHBOARD_KB__ANSWER_THRESHOLD=0.8", "SWITCHBOARD_KB__SOURCES=" + dir}, nil},
		{"missing source", "[kb]\nsources = [\"" + filepath.Join(dir, "nope") + "\"]\n", nil, map[string]string{"kb.sources[0]": "cannot read"}},
		{"empty source", "[kb]\nsources = [\" \"]\n", nil, map[string]string{"kb.sources[0]": "must not be empty"}},
		{"out of range", "[kb]\nanswer_threshold = 1.5\nanswer_margin = -0.1\ntop_k = 0\n", nil, map[string]string{
			"kb.answer_threshold": "between 0 and 1", "kb.answer_margin": "between 0 and 1", "kb.top_k": "between 1 and 50"}},
		{"suggest above answer", "[kb]\nanswer_threshold = 0.4\nsuggest_threshold = 0.5\n", nil, map[string]string{"kb.suggest_threshold": "must not be above"}},
		{"embed model without llm", "[kb]\nembed_model = \"nomic-embed-text\"\n", nil, map[string]string{"kb.embed_model": "[llm]"}},
		{"wrong type", "[kb]\nanswer_threshold = \"high\"\n", nil, map[string]string{"kb.answer_threshold": "expected a number"}},
		{"bad env float", "", []string{"SWITCHBOARD_KB__ANSWER_MARGIN=lots"}, map[string]string{"kb.answer_margin": "invalid number"}},
		{"unknown key", "[kb]\nthreshold = 0.5\n", nil, map[string]string{"kb.threshold": "unknown key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadString(t, tc.content, tc.env...)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a ValidationError, got %v", err)
			}
			got := map[string]string{}
			for _, p := range ve.Problems {
				got[p.Key] = p.Message
			}
			for key, part := range tc.want {
				if !strings.Contains(got[key], part) {
					t.Errorf("%s: got %q, want a message containing %q (all: %v)", key, got[key], part, ve)
				}
			}
		})
	}
	cfg, err := loadString(t, "", "SWITCHBOARD_KB__ANSWER_THRESHOLD=0.8", "SWITCHBOARD_KB__SOURCES="+dir+", "+dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.KB.AnswerThreshold != 0.8 || len(cfg.KB.Sources) != 2 {
		t.Errorf("env overrides: %+v", cfg.KB)
	}
}

// An explicit empty list is a choice (no cancel words) and must survive
// Load, distinct from a list left unset, which takes the default.
func TestExplicitEmptyListStaysEmpty(t *testing.T) {
	for _, tc := range []struct {
		name    string
		toml    string
		environ []string
		want    []string
	}{
		{name: "unset takes the default", toml: "[handoff]\ndesk = \"\"\n", want: Default().Handoff.CancelKeywords},
		{name: "empty in the file", toml: "[handoff]\ncancel_keywords = []\n", want: []string{}},
		{name: "empty from the environment", environ: []string{"SWITCHBOARD_HANDOFF__CANCEL_KEYWORDS="}, want: []string{}},
		{name: "the environment empties the file's list", toml: "[handoff]\ncancel_keywords = [\"stop\"]\n",
			environ: []string{"SWITCHBOARD_HANDOFF__CANCEL_KEYWORDS= "}, want: []string{}},
		{name: "a list in the file", toml: "[handoff]\ncancel_keywords = [\"stop\"]\n", want: []string{"stop"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadString(t, tc.toml, tc.environ...)
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.Handoff.CancelKeywords
			if !reflect.DeepEqual(got, tc.want) || (got == nil) != (tc.want == nil) {
				t.Errorf("cancel_keywords = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestHoursAndTicketsConfig(t *testing.T) {
	cfg, err := loadString(t, `
[handoff]
when_unavailable = "ticket"
[hours]
timezone = "Europe/Berlin"
mon = ["09:00-12:00", "13:00-18:00"]
fri = ["20:00-02:00"]
holidays = ["2026-12-25"]
[crm]
lookup_url = "https://crm.example.com/lookup"
timeout = "2s"
share_with_model = true
`)
	if err != nil {
		t.Fatal(err)
	}
	s, err := cfg.Hours.Schedule()
	if err != nil || !s.Configured() {
		t.Fatalf("Schedule = %v, %v", s, err)
	}
	if cfg.CRM.Timeout != 2*time.Second || !cfg.CRM.ShareWithModel || cfg.Handoff.WhenUnavailable != AllUnavailable(UnavailableTicket) {
		t.Errorf("loaded %+v %+v", cfg.CRM, cfg.Handoff.WhenUnavailable)
	}
	cases, err := loadString(t, "[handoff]\nwhen_unavailable = { off_hours = \"ticket\", desk_unreachable = \"ticket\" }\n")
	if err != nil {
		t.Fatal(err)
	}
	want := Unavailable{OffHours: "ticket", NoOperator: "wait", DeskUnreachable: "ticket", QueueTimeout: "wait"}
	if cases.Handoff.WhenUnavailable != want {
		t.Errorf("when_unavailable by case = %+v, want %+v", cases.Handoff.WhenUnavailable, want)
	}
	for _, tc := range []struct{ content, key string }{
		{"[hours]\ntimezone = \"Mars/Base\"\n", "hours.timezone"},
		{"[hours]\ntimezone = \"UTC\"\ntue = [\"09:00-12:00\", \"13-18\"]\n", "hours.tue[1]"},
		{"[hours]\ntimezone = \"UTC\"\nholidays = [\"soon\"]\n", "hours.holidays[0]"},
		{"[handoff]\nwhen_unavailable = \"maybe\"\n", "handoff.when_unavailable"},
		{"[handoff]\nwhen_unavailable = { queue_timeout = \"soon\" }\n", "handoff.when_unavailable.queue_timeout"},
		{"[handoff]\nwhen_unavailable = { lunch = \"ticket\" }\n", "handoff.when_unavailable.lunch"},
		{"[handoff]\nwhen_unavailable = 3\n", "handoff.when_unavailable"},
		{"[handoff]\nwhen_unavailable = \"ticket\"\nticket_message = \"no number\"\n", "handoff.ticket_message"},
		{"[crm]\nlookup_url = \"ftp://x\"\n", "crm.lookup_url"},
		{"[crm]\ntimeout = \"0s\"\n", "crm.timeout"},
	} {
		_, err := loadString(t, tc.content)
		var ve *ValidationError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%q: err = %v, want one naming %s", tc.content, err, tc.key)
		}
	}
}
