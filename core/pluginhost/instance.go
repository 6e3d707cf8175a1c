package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"github.com/sirupsen/logrus"
	"google.golang.org/grpc"

	"github.com/switchboard-chat/switchboard/sdk"
)

// Instance states.
const (
	StateStarting   = "starting"
	StateUp         = "up"
	StateRestarting = "restarting"
	StateFailed     = "failed"
	StateStopped    = "stopped"
)

// Status is a snapshot of an instance for /readyz.
type Status struct {
	Instance string `json:"instance"`
	Plugin   string `json:"plugin"`
	Kind     string `json:"kind"`
	State    string `json:"state"`
	PID      int    `json:"pid,omitempty"`
	Restarts int    `json:"restarts"`
	// Backend is the health of what the plugin talks to (the platform, the
	// model server): "ok" or the error.
	Backend string `json:"backend,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Instance is one supervised plugin process (restarted as needed).
type Instance struct {
	spec Spec
	host *Host

	mu       sync.RWMutex
	state    string
	client   *plugin.Client
	channel  *sdk.ChannelClient
	desk     *sdk.DeskClient // set when the channel's plugin serves a desk
	llm      *sdk.LLMClient
	caps     sdk.Capabilities
	info     sdk.LLMInfo
	pid      int
	restarts []time.Time
	total    int
	lastErr  string
	backend  string
}

// Status returns the instance's current state.
func (i *Instance) Status() Status {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return Status{
		Instance: i.spec.Instance, Plugin: i.spec.Plugin, Kind: i.spec.Kind,
		State: i.state, PID: i.pid, Restarts: i.total, Backend: i.backend, Error: i.lastErr,
	}
}

// Capabilities returns what a channel instance said about itself.
func (i *Instance) Capabilities() sdk.Capabilities {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.caps
}

// Spec returns what the instance was started from.
func (i *Instance) Spec() Spec { return i.spec }

func (i *Instance) log() *logrus.Entry {
	return i.host.log.WithFields(logrus.Fields{"plugin": i.spec.Instance})
}

// supervise launches the plugin and keeps it running until ctx ends. The
// first launch's outcome is sent to started.
func (i *Instance) supervise(ctx context.Context, started chan<- error) {
	first := true
	// Waits between restarts: 200ms, doubling up to 10s, from the first
	// crash after a successful launch.
	backoff, failures := sdk.Backoff{Base: 200 * time.Millisecond, Max: 10 * time.Second}, 0
	for {
		err := i.launch(ctx)
		if first {
			started <- err
			first = false
			if err != nil {
				i.setState(StateFailed, err)
				return
			}
		}
		if err == nil {
			failures = 0
			err = i.watch(ctx)
		}
		i.kill()
		if ctx.Err() != nil {
			i.setState(StateStopped, nil)
			return
		}
		i.log().WithError(err).Warn("plugin stopped; restarting")
		if !i.allowRestart() {
			err = fmt.Errorf("plugin %s exhausted its restart budget (%d restarts in %v): %w",
				i.spec.Instance, i.host.cfg.RestartBudget, i.host.cfg.RestartWindow, err)
			i.setState(StateFailed, err)
			i.log().WithError(err).Error("giving up on plugin")
			if i.host.cfg.OnGiveUp != nil {
				i.host.cfg.OnGiveUp(i.spec.Instance, err)
			}
			return
		}
		i.setState(StateRestarting, err)
		i.host.cfg.Metrics.PluginRestart(i.spec.Instance)
		failures++
		select {
		case <-time.After(backoff.Delay(failures)):
		case <-ctx.Done():
			i.setState(StateStopped, nil)
			return
		}
	}
}

// allowRestart records a restart and reports whether it is within budget.
func (i *Instance) allowRestart() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	now := time.Now()
	keep := i.restarts[:0]
	for _, t := range i.restarts {
		if now.Sub(t) < i.host.cfg.RestartWindow {
			keep = append(keep, t)
		}
	}
	i.restarts = keep
	if len(i.restarts) >= i.host.cfg.RestartBudget {
		return false
	}
	i.restarts = append(i.restarts, now)
	i.total++
	return true
}

func (i *Instance) setState(state string, err error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.state = state
	if err != nil {
		i.lastErr = err.Error()
	} else if state == StateUp {
		i.lastErr = ""
	}
	if state != StateUp {
		i.pid = 0
	}
}

// pluginEnv is the daemon's environment without its own settings, which may
// hold other plugins' secrets: a plugin gets only its own options. A
// logLevel tells the plugin which of its log lines the daemon keeps.
func pluginEnv(logLevel string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SWITCHBOARD_") {
			env = append(env, kv)
		}
	}
	if logLevel != "" {
		env = append(env, sdk.LogLevelEnv+"="+logLevel)
	}
	return env
}

// OptionsError is a plugin's refusal of its options: its Configure
// failed.
type OptionsError struct{ Err error }

// Error says the plugin refused its options, and why.
func (e *OptionsError) Error() string { return "configure: " + e.Err.Error() }

// Unwrap returns the plugin's error.
func (e *OptionsError) Unwrap() error { return e.Err }

// launch verifies, starts and configures one plugin process.
func (i *Instance) launch(ctx context.Context) error { return i.start(ctx, false) }

// start verifies, starts and configures one plugin process. A dry run
// only asks the plugin to check its options and stops it again.
func (i *Instance) start(ctx context.Context, dryRun bool) error {
	path, err := VerifyBinary(i.host.cfg.Dir, i.spec.Plugin, i.spec.SHA256)
	if err != nil {
		return err
	}
	cmd := exec.Command(path)
	cmd.Env = pluginEnv(i.host.cfg.LogLevel)
	var dial []grpc.DialOption
	if limit := i.host.cfg.MessageLimit; limit > 0 {
		cmd.Env = append(cmd.Env, sdk.MessageLimitEnv+"="+strconv.Itoa(limit))
		dial = append(dial, sdk.ClientMessageLimit(limit))
	}
	logEntry := i.log()
	client := plugin.NewClient(&plugin.ClientConfig{
		GRPCDialOptions:  dial,
		HandshakeConfig:  sdk.Handshake(),
		VersionedPlugins: sdk.VersionedPlugins(),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     15 * time.Second,
		Logger:           newPluginLogger(i.host.log, i.spec.Instance),
		SyncStdout:       lineWriter(logEntry, logrus.InfoLevel),
		SyncStderr:       lineWriter(logEntry, logrus.WarnLevel),
	})
	fail := func(err error) error {
		client.Kill()
		return fmt.Errorf("plugin %s (%s): %w", i.spec.Instance, i.spec.Plugin, err)
	}
	rpc, err := client.Client()
	if err != nil {
		return fail(fmt.Errorf("start: %w", err))
	}
	raw, err := rpc.Dispense(i.spec.Kind)
	if err != nil {
		return fail(fmt.Errorf("dispense %s: %w", i.spec.Kind, err))
	}
	opts, err := sdk.NewOptions(i.spec.Options)
	if err != nil {
		return fail(err)
	}
	req := sdk.ConfigureRequest{Instance: i.spec.Instance, Options: opts, HostVersion: i.host.cfg.Version, DryRun: dryRun}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	var (
		ch   *sdk.ChannelClient
		desk *sdk.DeskClient
		llm  *sdk.LLMClient
		caps sdk.Capabilities
		info sdk.LLMInfo
	)
	switch c := raw.(type) {
	case *sdk.ChannelClient:
		ch = c
		caps, err = c.Configure(cctx, req)
	case *sdk.LLMClient:
		llm = c
		info, err = c.Configure(cctx, req)
	default:
		return fail(fmt.Errorf("unexpected plugin client %T", raw))
	}
	if err != nil {
		return fail(&OptionsError{Err: err})
	}
	if dryRun {
		client.Kill()
		return nil
	}
	if caps.Desk {
		// The desk is a service of its own on the same connection.
		raw, err := rpc.Dispense(sdk.KindDesk)
		if err != nil {
			return fail(fmt.Errorf("dispense %s: %w", sdk.KindDesk, err))
		}
		d, ok := raw.(*sdk.DeskClient)
		if !ok {
			return fail(fmt.Errorf("unexpected desk client %T", raw))
		}
		desk = d
	}

	pid := 0
	if rc := client.ReattachConfig(); rc != nil {
		pid = rc.Pid
	}
	i.mu.Lock()
	i.client, i.channel, i.desk, i.llm, i.caps, i.info, i.pid = client, ch, desk, llm, caps, info, pid
	i.state = StateUp
	i.lastErr = ""
	i.mu.Unlock()
	i.checkBackend(ctx)
	i.log().WithField("pid", pid).Info("plugin started")
	return nil
}

// watch returns when the plugin process exits or stops answering pings, or
// when ctx ends.
// Ping makes one round trip to the plugin process over its gRPC connection
// (go-plugin's health service; the plugin does no work of its own).
func (i *Instance) Ping() error {
	i.mu.RLock()
	client, state := i.client, i.state
	i.mu.RUnlock()
	if client == nil {
		return fmt.Errorf("plugin %s: %w (%s)", i.spec.Instance, sdk.ErrPluginUnavailable, state)
	}
	return ping(client)
}

// ping fails with an error wrapping sdk.ErrPluginUnavailable when the
// plugin process does not answer.
func ping(client *plugin.Client) error {
	rpc, err := client.Client()
	if err == nil {
		err = rpc.Ping()
	}
	if err != nil {
		return fmt.Errorf("%w: %w", sdk.ErrPluginUnavailable, err)
	}
	return nil
}

func (i *Instance) watch(ctx context.Context) error {
	i.mu.RLock()
	client, ch := i.client, i.channel
	caps := i.caps
	i.mu.RUnlock()

	pollDone := make(chan error, 1)
	if caps.Polling && ch != nil && i.host.cfg.Sink != nil {
		pctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() { pollDone <- ch.Poll(pctx, i.host.cfg.Sink(i.spec.Instance)) }()
	}

	exitTick := time.NewTicker(100 * time.Millisecond)
	defer exitTick.Stop()
	health := time.NewTicker(i.host.cfg.HealthInterval)
	defer health.Stop()
	missed := 0
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-pollDone:
			if client.Exited() {
				return errors.New("plugin process exited")
			}
			return fmt.Errorf("polling stopped: %w", err)
		case <-exitTick.C:
			if client.Exited() {
				return errors.New("plugin process exited")
			}
		case <-health.C:
			if err := ping(client); err != nil {
				missed++
				if missed >= 2 {
					return fmt.Errorf("plugin does not answer pings: %w", err)
				}
				continue
			}
			missed = 0
			i.checkBackend(ctx)
		}
	}
}

// checkBackend asks the plugin whether its platform or server is reachable.
func (i *Instance) checkBackend(ctx context.Context) {
	i.mu.RLock()
	ch, llm := i.channel, i.llm
	i.mu.RUnlock()
	hctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var err error
	switch {
	case ch != nil:
		err = ch.Health(hctx)
	case llm != nil:
		err = llm.Health(hctx)
	}
	backend := "ok"
	if err != nil {
		backend = err.Error()
	}
	i.mu.Lock()
	i.backend = backend
	i.mu.Unlock()
}

// BackendOK reports whether the last health check of the plugin's backend
// passed.
func (i *Instance) BackendOK() bool {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.backend == "ok"
}

// kill stops the plugin's process, if any, and forgets its clients.
func (i *Instance) kill() {
	i.mu.Lock()
	client := i.client
	i.client, i.channel, i.desk, i.llm, i.pid = nil, nil, nil, nil, 0
	if i.state == StateUp {
		// Not up without a process, even for the moment before the
		// supervisor says what comes next.
		i.state = StateRestarting
	}
	i.mu.Unlock()
	if client != nil {
		client.Kill()
	}
}

// ChannelClient returns the current channel client, or an error of kind
// Temporary when the plugin is not running.
func (i *Instance) ChannelClient() (sdk.Channel, error) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	if i.channel == nil {
		return nil, i.notRunning("channel")
	}
	return i.channel, nil
}

// DeskClient returns the current desk client, or an error of kind
// Temporary when the plugin is not running. Only instances whose plugin
// serves a desk (Capabilities().Desk) have one.
func (i *Instance) DeskClient() (sdk.Desk, error) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	if i.desk == nil {
		return nil, i.notRunning("desk")
	}
	return i.desk, nil
}

// LLMClient returns the current LLM client, or an error of kind Unavailable
// when the plugin is not running.
func (i *Instance) LLMClient() (sdk.LLM, error) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	if i.llm == nil {
		return nil, sdk.NewError(sdk.Unavailable, fmt.Errorf("llm %s: %w (%s)", i.spec.Instance, sdk.ErrPluginUnavailable, i.state))
	}
	return i.llm, nil
}

// notRunning is the error of a call to the instance while its plugin is
// not running; i.mu is held. One the host gave up on also wraps
// sdk.ErrPluginFailed.
func (i *Instance) notRunning(what string) error {
	if i.state == StateFailed {
		return sdk.NewError(sdk.Temporary, fmt.Errorf("%s %s: %w: %w (%s)", what, i.spec.Instance, sdk.ErrPluginUnavailable, sdk.ErrPluginFailed, i.lastErr))
	}
	return sdk.NewError(sdk.Temporary, fmt.Errorf("%s %s: %w (%s)", what, i.spec.Instance, sdk.ErrPluginUnavailable, i.state))
}
