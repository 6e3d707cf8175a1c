package sdk

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// ProtocolVersion is the plugin protocol this SDK speaks. The daemon may
// support several versions at once (go-plugin's VersionedPlugins), so a new
// protocol can come without breaking plugins built for this one.
const ProtocolVersion = 1

// Names under which plugins are dispensed.
const (
	KindChannel = "channel"
	KindDesk    = "desk"
	KindLLM     = "llm"
)

// Handshake is the go-plugin handshake shared by the daemon and plugins. The
// cookie only stops a plugin binary from being run by hand by mistake; it is
// not a security measure (the binaries are checksummed and the connection is
// mutual TLS).
func Handshake() plugin.HandshakeConfig {
	return plugin.HandshakeConfig{
		ProtocolVersion:  ProtocolVersion,
		MagicCookieKey:   "SWITCHBOARD_PLUGIN",
		MagicCookieValue: "a2f7c3d4-5e61-4b8a-9c0d-switchboard",
	}
}

// VersionedPlugins is the plugin set the daemon dispenses from, by protocol
// version.
func VersionedPlugins() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {
			KindChannel: &ChannelPlugin{},
			KindDesk:    &DeskPlugin{},
			KindLLM:     &LLMPlugin{},
		},
	}
}

// Plugins is what one plugin binary serves: a channel, optionally with a
// human desk, and/or an LLM backend. A desk needs the channel beside it:
// operators' events arrive through the channel's webhook or poll. Both are
// usually the same value:
//
//	d := &Desk{}
//	sdk.Serve(sdk.Plugins{Channel: d, Desk: d})
type Plugins struct {
	Channel Channel
	Desk    Desk
	LLM     LLM
}

// PluginSet is the go-plugin set that serves p, one service per interface.
func (p Plugins) PluginSet() plugin.PluginSet {
	set := plugin.PluginSet{}
	if p.Channel != nil {
		set[KindChannel] = &ChannelPlugin{Impl: p.Channel, servesDesk: p.Desk != nil}
	}
	if p.Desk != nil {
		set[KindDesk] = &DeskPlugin{Impl: p.Desk}
	}
	if p.LLM != nil {
		set[KindLLM] = &LLMPlugin{Impl: p.LLM}
	}
	return set
}

// Serve serves the plugins to the daemon and returns when the daemon stops
// the process. It is the whole of a plugin's main function. Run for its
// setup step (see [Setup]), the binary runs that instead and exits.
func Serve(p Plugins) {
	if os.Getenv(SetupEnv) != "" {
		serveSetup(p) // exits
	}
	if p.Desk != nil && p.Channel == nil {
		fmt.Fprintln(os.Stderr, "sdk.Serve: a Desk needs a Channel beside it for the operators' events")
		os.Exit(1)
	}
	go exitWithParent()
	halfTheCores()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake(),
		VersionedPlugins: map[int]plugin.PluginSet{ProtocolVersion: p.PluginSet()},
		GRPCServer:       newGRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Level:      hclog.Info,
			Output:     logOutput,
			JSONFormat: true,
		}),
	})
}

// halfTheCores runs the plugin's Go code on half the threads the Go
// runtime would use (GOMAXPROCS), at least one, unless the GOMAXPROCS
// environment variable says otherwise. A plugin mostly waits, on the daemon
// and on its platform's API, and does less work per message than the
// daemon, which needs the other half; and it hands each message between a
// few goroutines, hand-offs that on fewer threads wake fewer threads.
// Measured on two cores (one thread) at 4,000 webhooks a second, the echo
// channel's process used a fifth less CPU per message, and at 1,000 a
// second the Telegram and model plugins together an eighth less. A plugin
// that computes a lot runs with GOMAXPROCS set in the daemon's
// environment, which its plugins inherit.
func halfTheCores() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(max(1, runtime.GOMAXPROCS(0)/2))
	}
}

// streamWorkers is how many goroutines of a plugin's gRPC server take
// calls: reused goroutines keep their grown stacks, where a fresh goroutine
// per call grows (copies) its stack again each time.
const streamWorkers = 16

// newGRPCServer is the plugin's gRPC server, taking messages as large as
// the daemon said it may send (see [MessageLimitEnv]).
func newGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	opts = append(opts, serverMessageLimit(messageLimitFromEnv())...)
	return grpc.NewServer(append(opts, grpc.NumStreamWorkers(streamWorkers))...)
}

// exitWithParent ends the plugin when the daemon that started it is gone
// (killed without a chance to stop its plugins), so no orphan keeps running.
func exitWithParent() {
	parent := os.Getppid()
	for range time.Tick(500 * time.Millisecond) {
		if os.Getppid() != parent {
			os.Exit(0)
		}
	}
}

// LogLevelEnv is set in a plugin's environment to the daemon's log level
// (trace, debug, info, warn or error): lines below it would be dropped by
// the daemon, so [NewLogger] does not write them.
const LogLevelEnv = "SWITCHBOARD_PLUGIN_LOG_LEVEL"

// logOutput is the process's fd 2, the pipe the daemon reads log lines
// from, taken before go-plugin points os.Stderr elsewhere while serving. It
// is the one *os.File for fd 2: a second one (os.NewFile(2, ...)) would close
// fd 2 when it is collected, after which log lines fail or, once the number
// is reused, go into whatever connection got it.
var logOutput = os.Stderr

// NewLogger returns a logger for plugin code. Its lines reach the daemon's
// log with their level and fields, tagged with the plugin's name; lines
// below the daemon's level ([LogLevelEnv]) are not written at all.
func NewLogger() *slog.Logger {
	h := slog.NewJSONHandler(logOutput, &slog.HandlerOptions{
		Level: logLevel(os.Getenv(LogLevelEnv)),
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			case slog.LevelKey:
				return slog.String("@level", levelName(a.Value.Any().(slog.Level)))
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	})
	return slog.New(h)
}

// logLevel is the slog level of a daemon log level name; debug (every
// line) for an empty or unknown one.
func logLevel(name string) slog.Level {
	switch strings.ToLower(name) {
	case "info":
		return slog.LevelInfo
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelDebug
}

func levelName(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	default:
		return "error"
	}
}

// compile-time checks that the clients implement the interfaces.
var (
	_ Channel       = (*ChannelClient)(nil)
	_ HealthChecker = (*ChannelClient)(nil)
	_ Desk          = (*DeskClient)(nil)
	_ LLM           = (*LLMClient)(nil)
	_ HealthChecker = (*LLMClient)(nil)
)
