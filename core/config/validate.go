package config

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/events"
	"github.com/switchboard-chat/switchboard/core/webhooks"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	// Key is the full key, such as "server.listen", "channels.demo.plugin"
	// or "handoff.keywords[1]"; for a malformed environment variable name,
	// the variable's name.
	Key string
	// Message says what is wrong.
	Message string
}

// String formats the problem as "key: message".
func (p Problem) String() string {
	return p.Key + ": " + p.Message
}

// ValidationError holds every problem found in a configuration.
type ValidationError struct {
	// Problems are sorted by key, then message.
	Problems []Problem
}

// Error lists the problems, one per line after a summary line.
func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid configuration (%d problem", len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	b.WriteString("):")
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// newValidationError sorts problems into a ValidationError.
func newValidationError(problems []Problem) *ValidationError {
	sortProblems(problems)
	return &ValidationError{Problems: problems}
}

func sortProblems(problems []Problem) {
	slices.SortFunc(problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Message, b.Message))
	})
}

// logLevels are the level names accepted in log.level (logrus names).
func logLevels() []string { return []string{"trace", "debug", "info", "warn", "warning", "error"} }

// logFormats are the values accepted in log.format.
func logFormats() []string { return []string{"text", "json"} }

// reservedChannelNames cannot name a [channels.<name>] instance: "api" is
// the built-in REST channel, "web" the built-in web chat, "console" the
// built-in desk, "llm" the model plugin's instance.
func reservedChannelNames() []string {
	return []string{"api", "web", conversation.ConsoleDesk, "llm"}
}

// Validate checks the values of c, for a Config built or changed in code;
// Load already runs the same checks. It returns nil or a *ValidationError
// listing every problem.
func (c *Config) Validate() error {
	if problems := c.validate(); len(problems) > 0 {
		return newValidationError(problems)
	}
	return nil
}

func (c *Config) validate() []Problem {
	var ps []Problem
	add := func(key, format string, args ...any) {
		ps = append(ps, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
	}

	// [server]
	if msg := checkListen(c.Server.Listen); msg != "" {
		add("server.listen", "%s", msg)
	}
	if c.Server.PprofListen != "" {
		if msg := checkListen(c.Server.PprofListen); msg != "" {
			add("server.pprof_listen", "%s", msg)
		} else if host, _, _ := net.SplitHostPort(c.Server.PprofListen); !isLoopback(host) {
			add("server.pprof_listen", "%q is not a loopback address: profiles are served to this machine only, such as 127.0.0.1:6060", c.Server.PprofListen)
		}
	}
	if c.Server.DataDir == "" {
		add("server.data_dir", "must not be empty")
	}
	if c.Server.MaxBodyBytes <= 0 || c.Server.MaxBodyBytes > MaxBodyBytesLimit {
		add("server.max_body_bytes", "must be between 1 and %d (32 MiB), got %d", MaxBodyBytesLimit, c.Server.MaxBodyBytes)
	}
	if c.Server.ShutdownTimeout <= 0 {
		add("server.shutdown_timeout", "must be greater than 0, got %s", c.Server.ShutdownTimeout)
	}
	if c.Server.ReadTimeout <= 0 {
		add("server.read_timeout", "must be greater than 0, got %s", c.Server.ReadTimeout)
	}
	if c.Server.WriteTimeout <= 0 {
		add("server.write_timeout", "must be greater than 0, got %s", c.Server.WriteTimeout)
	}
	if c.Server.MaxConnections <= 0 {
		add("server.max_connections", "must be greater than 0, got %d", c.Server.MaxConnections)
	}
	if c.Server.CommitDelay < 0 || c.Server.CommitDelay > MaxCommitDelay {
		add("server.commit_delay", "must be between 0 and %s, got %s", MaxCommitDelay, c.Server.CommitDelay)
	}

	// [log]
	if !slices.Contains(logLevels(), c.Log.Level) {
		add("log.level", "unknown level %q; use one of %s", c.Log.Level, strings.Join(logLevels(), ", "))
	}
	if !slices.Contains(logFormats(), c.Log.Format) {
		add("log.format", "unknown format %q; use one of %s", c.Log.Format, strings.Join(logFormats(), ", "))
	}

	// [plugins]
	if c.Plugins.Dir == "" {
		add("plugins.dir", "must not be empty")
	}
	for _, name := range sortedKeys(c.Plugins.SHA256) {
		key := childKey("plugins.sha256", name)
		if msg := checkPluginName(name); msg != "" {
			add(key, "%s", msg)
		}
		if sum := c.Plugins.SHA256[name]; !isSHA256Hex(sum) {
			add(key, "invalid checksum %q: want a SHA-256 as 64 hex characters", sum)
		}
	}

	// [api]
	for i, k := range c.API.Keys {
		if strings.TrimSpace(k) == "" {
			add(indexKey("api.keys", i), "must not be empty")
		}
	}

	// [channels.<name>]
	for _, name := range sortedKeys(c.Channels) {
		key := childKey("channels", name)
		if !isChannelName(name) {
			add(key, "invalid channel name %q: use 1 to 63 lower-case letters, digits, '_' or '-', starting with a letter or digit", name)
		} else if slices.Contains(reservedChannelNames(), name) {
			add(key, "channel name %q is reserved", name)
		}
		if msg := checkPluginName(c.Channels[name].Plugin); msg != "" {
			add(key+".plugin", "%s", msg)
		}
	}

	// [llm]
	if c.LLM != nil {
		if msg := checkPluginName(c.LLM.Plugin); msg != "" {
			add("llm.plugin", "%s", msg)
		}
	}

	// [server] TLS
	if (c.Server.TLSCert == "") != (c.Server.TLSKey == "") {
		add("server.tls_cert", "tls_cert and tls_key must be set together")
	}
	for key, path := range map[string]string{"server.tls_cert": c.Server.TLSCert, "server.tls_key": c.Server.TLSKey} {
		if path == "" {
			continue
		}
		if _, err := os.Stat(path); err != nil {
			add(key, "cannot read %q: %v", path, err)
		}
	}

	// [api] address lists
	for key, list := range map[string][]string{"api.allow_ips": c.API.AllowIPs, "api.trusted_proxies": c.API.TrustedProxies} {
		for i, s := range list {
			if !validPrefix(s) {
				add(indexKey(key, i), "%q is not an IP address or CIDR", s)
			}
		}
	}

	// [delivery], [alerts], [retention]
	if c.Delivery.MaxAttempts < 1 {
		add("delivery.max_attempts", "must be at least 1, got %d", c.Delivery.MaxAttempts)
	}
	if c.Delivery.MaxAge <= 0 {
		add("delivery.max_age", "must be greater than 0, got %s", c.Delivery.MaxAge)
	}
	if u := c.Alerts.WebhookURL; u != "" {
		if parsed, err := url.Parse(u); err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
			add("alerts.webhook_url", "%q is not an http(s) URL", u)
		}
	}
	if c.Alerts.LLMDownAfter <= 0 {
		add("alerts.llm_down_after", "must be greater than 0, got %s", c.Alerts.LLMDownAfter)
	}
	if c.Retention.Transcripts < 0 {
		add("retention.transcripts", "must not be negative, got %s", c.Retention.Transcripts)
	} else if c.Retention.Transcripts > 0 && c.Retention.Transcripts < time.Hour {
		add("retention.transcripts", "must be at least 1h (or 0 to keep forever), got %s", c.Retention.Transcripts)
	}

	// [events], [[webhooks]]
	c.validateEvents(add)
	// [oauth]
	if c.OAuth.TokenTTL < time.Minute || c.OAuth.TokenTTL > 24*time.Hour {
		add("oauth.token_ttl", "must be between 1m and 24h, got %s", c.OAuth.TokenTTL)
	}
	// [console]
	if u := c.Console.PublicURL; u != "" {
		if parsed, err := url.Parse(u); err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" ||
			(parsed.Path != "" && parsed.Path != "/") || parsed.RawQuery != "" || parsed.Fragment != "" {
			add("console.public_url", "%q is not an http(s) URL of a host, such as https://support.example.com", u)
		}
	}
	if d := c.Console.SessionLifetime; d < 5*time.Minute || d > 90*24*time.Hour {
		add("console.session_lifetime", "must be between 5m and 2160h (90 days), got %s", d)
	}

	// [bot]
	if c.Bot.HandoffMessage == "" {
		add("bot.handoff_message", "must not be empty")
	}
	if c.Bot.FallbackMessage == "" {
		add("bot.fallback_message", "must not be empty")
	}
	if c.Bot.HistoryMessages < 1 {
		add("bot.history_messages", "must be at least 1, got %d", c.Bot.HistoryMessages)
	}
	if c.Bot.Concurrency < 1 {
		add("bot.concurrency", "must be at least 1, got %d", c.Bot.Concurrency)
	}
	if c.Bot.GatherWindow < 0 || c.Bot.GatherWindow > 10*time.Second {
		add("bot.gather_window", "must be between 0s and 10s, got %s", c.Bot.GatherWindow)
	}

	// [handoff]
	switch _, ok := c.Channels[c.Handoff.Desk]; {
	case c.Handoff.Desk == conversation.ConsoleDesk && !c.Console.Enabled:
		add("handoff.desk", "the console desk needs console.enabled = true")
	case c.Handoff.Desk != "" && c.Handoff.Desk != conversation.ConsoleDesk && !ok:
		add("handoff.desk", "no channel named %q is configured (or use %q, the built-in console)", c.Handoff.Desk, conversation.ConsoleDesk)
	}
	for i, k := range c.Handoff.Keywords {
		if strings.TrimSpace(k) == "" {
			add(indexKey("handoff.keywords", i), "must not be empty")
		}
	}
	for i, k := range c.Handoff.CancelKeywords {
		if strings.TrimSpace(k) == "" {
			add(indexKey("handoff.cancel_keywords", i), "must not be empty")
		}
	}
	if c.Handoff.MaxBotFailures < 1 {
		add("handoff.max_bot_failures", "must be at least 1, got %d", c.Handoff.MaxBotFailures)
	}
	if c.Handoff.QueueTimeout <= 0 {
		add("handoff.queue_timeout", "must be greater than 0, got %s", c.Handoff.QueueTimeout)
	}

	// [webchat]
	w := c.WebChat
	for i, o := range w.AllowedOrigins {
		if msg := checkOrigin(o); msg != "" {
			add(indexKey("webchat.allowed_origins", i), "%s", msg)
		}
	}
	if t := strings.TrimSpace(w.Title); t == "" || utf8.RuneCountInString(t) > 80 {
		add("webchat.title", "must be 1 to 80 characters, got %d", utf8.RuneCountInString(t))
	}
	if !isHexColor(w.Color) {
		add("webchat.color", "%q is not a color like #4f46e5 or #48c", w.Color)
	}
	if w.IdentitySecret != "" && len(w.IdentitySecret) < 16 {
		add("webchat.identity_secret", "must be at least 16 characters (or empty to turn identified sessions off)")
	}
	if w.MaxMessageChars < 1 || w.MaxMessageChars > 100_000 {
		add("webchat.max_message_chars", "must be between 1 and 100000, got %d", w.MaxMessageChars)
	}
	if w.RatePerVisitor < 0 {
		add("webchat.rate_per_visitor", "must not be negative (0 means no limit), got %d", w.RatePerVisitor)
	}
	if w.RatePerAddress < 0 {
		add("webchat.rate_per_address", "must not be negative (0 means no limit), got %d", w.RatePerAddress)
	}
	// [csat]
	if c.CSAT.Enabled && strings.TrimSpace(c.CSAT.Question) == "" {
		add("csat.question", "must not be empty while csat.enabled = true")
	}
	if c.CSAT.Window < 0 {
		add("csat.window", "must not be negative (0 means no limit), got %s", c.CSAT.Window)
	}
	// [hours], [crm], handoff.when_unavailable
	c.validateTickets(add)
	// [kb]
	ps = append(ps, c.validateKB()...)
	// [[departments]], [routing]
	ps = append(ps, c.validateRouting()...)
	return ps
}

// checkOrigin explains what is wrong with an allowed origin, or returns "".
// An origin is what browsers send in the Origin header: scheme://host with
// an optional port and nothing after it.
func checkOrigin(o string) string {
	if o == "*" {
		return ""
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Sprintf("%q is not an origin like https://www.example.com", o)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Sprintf("%q is not an origin: use scheme://host[:port] without a path", o)
	}
	if strings.TrimSuffix(o, "/") != strings.ToLower(strings.TrimSuffix(o, "/")) {
		return fmt.Sprintf("%q is not an origin: write it in lower case, as browsers send it", o)
	}
	return ""
}

// isHexColor reports whether s is a CSS color #rgb or #rrggbb.
func isHexColor(s string) bool {
	if len(s) != 4 && len(s) != 7 || s[0] != '#' {
		return false
	}
	for _, c := range s[1:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// isLoopback reports whether host names this machine only: localhost or
// a loopback IP.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkListen explains what is wrong with a listen address, or returns "".
func checkListen(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("invalid address %q: want host:port, such as 127.0.0.1:8080 or :8080", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Sprintf("invalid port %q in %q: want a number from 0 to 65535", port, addr)
	}
	return ""
}

// checkPluginName explains what is wrong with a plugin name, or returns "".
// A plugin name is a plain file name inside plugins.dir.
func checkPluginName(name string) string {
	if name == "" {
		return "required: the name of a plugin binary in plugins.dir"
	}
	if name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return fmt.Sprintf("invalid plugin name %q: must be a plain file name in plugins.dir, without path separators", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Sprintf("invalid plugin name %q: use letters, digits, '.', '_' or '-'", name)
		}
	}
	return ""
}

// isChannelName reports whether name matches ^[a-z0-9][a-z0-9_-]{0,62}$.
func isChannelName(name string) bool {
	if name == "" || len(name) > 63 {
		return false
	}
	for i, c := range name {
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '-') {
			return false
		}
	}
	return true
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// CheckPlugins checks that the binary of every plugin the configuration uses
// (channels and llm) exists in plugins.dir as an executable regular file. It
// touches the file system, so it is separate from Load and Validate; a
// relative plugins.dir is resolved against the working directory. The
// problems are sorted, and name the key that references the plugin.
// Checksums pinned in [plugins.sha256] are verified when the plugin starts,
// not here.
func (c *Config) CheckPlugins() []Problem {
	var ps []Problem
	check := func(key, plugin string) {
		if checkPluginName(plugin) != "" {
			return // already a validation problem
		}
		if msg := checkBinary(c.PluginPath(plugin)); msg != "" {
			ps = append(ps, Problem{Key: key, Message: msg})
		}
	}
	for _, name := range sortedKeys(c.Channels) {
		check(childKey("channels", name)+".plugin", c.Channels[name].Plugin)
	}
	if c.LLM != nil {
		check("llm.plugin", c.LLM.Plugin)
	}
	if len(ps) > 0 {
		if info, err := os.Stat(c.Plugins.Dir); err != nil || !info.IsDir() {
			ps = append(ps, Problem{Key: "plugins.dir", Message: fmt.Sprintf("plugin directory %q not found", c.Plugins.Dir)})
		}
	}
	sortProblems(ps)
	return ps
}

// checkBinary explains why path is not a runnable plugin binary, or returns "".
func checkBinary(path string) string {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("plugin binary %q not found", path)
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Sprintf("plugin binary %q cannot be read: %v", path, err)
	case !info.Mode().IsRegular():
		return fmt.Sprintf("plugin binary %q is not a regular file", path)
	case runtime.GOOS != "windows" && info.Mode().Perm()&0o111 == 0:
		return fmt.Sprintf("plugin binary %q is not executable (chmod +x)", path)
	}
	return ""
}

// validPrefix reports whether s is an IP address or a CIDR.
func validPrefix(s string) bool {
	s = strings.TrimSpace(s)
	if _, err := netip.ParsePrefix(s); err == nil {
		return true
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

// validateEvents checks [events] and the [[webhooks]] subscriptions.
func (c *Config) validateEvents(add func(key, format string, args ...any)) {
	e := c.Events
	if e.Retention < time.Hour {
		add("events.retention", "must be at least 1h, got %s", e.Retention)
	}
	if e.WebhookTimeout <= 0 || e.WebhookTimeout > 5*time.Minute {
		add("events.webhook_timeout", "must be between 1s and 5m, got %s", e.WebhookTimeout)
	}
	if e.RetryFor <= 0 {
		add("events.retry_for", "must be greater than 0, got %s", e.RetryFor)
	}
	if e.PauseAfter < 0 {
		add("events.pause_after", "must not be negative (0 never pauses), got %s", e.PauseAfter)
	}
	seen := map[string]int{}
	for i, w := range c.Webhooks {
		key := indexKey("webhooks", i)
		if err := webhooks.CheckURL(w.URL); err != nil {
			add(key+".url", "%v", err)
		} else if j, dup := seen[w.URL]; dup {
			add(key+".url", "the same URL as %s: give each receiver one subscription", indexKey("webhooks", j))
		} else {
			seen[w.URL] = i
		}
		for j, name := range w.Events {
			if !events.Type(name).Valid() {
				add(indexKey(key+".events", j), "unknown event type %q; one of %s", name, strings.Join(events.TypeNames(), ", "))
			}
		}
		if w.Secret == "" {
			add(key+".secret", "required: %s and the base64 of 24 to 64 random bytes (e.g. %s$(openssl rand -base64 32))", webhooks.SecretPrefix, webhooks.SecretPrefix)
		} else if _, err := webhooks.ParseSecret(w.Secret); err != nil {
			add(key+".secret", "%v", err) // the message never quotes the secret
		}
		if w.PreviousSecret != "" {
			if _, err := webhooks.ParseSecret(w.PreviousSecret); err != nil {
				add(key+".previous_secret", "%v", err)
			}
		}
	}
}

// CheckFiles reports what serve would find wrong on the file system
// besides the plugins: a data folder it cannot create or write, and TLS
// files it cannot load. Like CheckPlugins it changes nothing.
func (c *Config) CheckFiles() []Problem {
	var ps []Problem
	if msg := checkWritableDir(c.Server.DataDir); msg != "" {
		ps = append(ps, Problem{Key: "server.data_dir", Message: msg})
	}
	if db := c.DBPath(); c.Server.DataDir != "" {
		if f, err := os.OpenFile(db, os.O_RDWR, 0); err == nil {
			f.Close()
		} else if !errors.Is(err, fs.ErrNotExist) {
			ps = append(ps, Problem{Key: "server.data_dir", Message: fmt.Sprintf("database %q cannot be opened for writing: %v", db, unwrapPath(err))})
		}
	}
	if c.Server.TLSCert != "" && c.Server.TLSKey != "" {
		if _, err := tls.LoadX509KeyPair(c.Server.TLSCert, c.Server.TLSKey); err != nil {
			ps = append(ps, Problem{Key: "server.tls_cert", Message: fmt.Sprintf("cannot load the certificate and key: %v", err)})
		}
	}
	sortProblems(ps)
	return ps
}

// checkWritableDir explains why dir cannot be created or written, or
// returns "". A folder that does not exist yet is judged by its nearest
// existing parent, where serve would create it.
func checkWritableDir(dir string) string {
	if dir == "" {
		return "" // already a validation problem
	}
	probe := filepath.Clean(dir)
	for {
		info, err := os.Stat(probe)
		if err == nil {
			if !info.IsDir() {
				return fmt.Sprintf("%q is not a folder", probe)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Sprintf("%q cannot be read: %v", probe, unwrapPath(err))
		}
		parent := filepath.Dir(probe)
		if parent == probe {
			return fmt.Sprintf("no folder of %q exists", dir)
		}
		probe = parent
	}
	f, err := os.CreateTemp(probe, ".switchboard-check-*")
	if err != nil {
		if probe != filepath.Clean(dir) {
			return fmt.Sprintf("data folder %q cannot be created in %q: %v", dir, probe, unwrapPath(err))
		}
		return fmt.Sprintf("data folder %q is not writable: %v", dir, unwrapPath(err))
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return ""
}

// unwrapPath drops the operation and path a *fs.PathError repeats.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
