// Package pluginhost runs plugins as supervised subprocesses: it verifies
// their checksums, launches them over go-plugin with mutual TLS, configures
// them, pings them, restarts a crashed plugin with backoff within a restart
// budget, and routes calls to whichever process is current.
package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/metrics"

	"github.com/switchboard-chat/switchboard/sdk"
)

// Spec describes one plugin instance to run.
type Spec struct {
	// Instance is the configured name ("demo" for [channels.demo], "llm").
	Instance string
	// Plugin is the binary's name in the plugin directory.
	Plugin string
	// Kind is sdk.KindChannel or sdk.KindLLM.
	Kind string
	// Options are passed to the plugin's Configure, and only to it.
	Options map[string]any
	// SHA256 pins the binary's checksum (hex); empty means no pin.
	SHA256 string
}

// Config tunes a Host.
type Config struct {
	// Dir is where plugin binaries live.
	Dir string
	// Version is the daemon's version, told to plugins.
	Version string
	// RestartBudget is how many restarts are allowed within RestartWindow
	// before the host gives up on a plugin. Defaults: 5 in 10 minutes.
	RestartBudget int
	RestartWindow time.Duration
	// HealthInterval is how often plugins are pinged and asked for their
	// backend's health. Default 5s.
	HealthInterval time.Duration
	// Sink takes events from polling channels; it must commit them durably.
	Sink func(instance string) sdk.EventSink
	// OnGiveUp is called when a plugin exhausted its restart budget.
	OnGiveUp func(instance string, err error)
	// Metrics counts restarts; nil: none.
	Metrics *metrics.Metrics
	// Lenient starts the daemon with the plugins whose options are valid:
	// one whose Configure fails at the first start is marked failed, and
	// the others run. Otherwise any plugin failing its first start fails
	// Start.
	Lenient bool
	// MessageLimit is the largest message, in bytes, either side of a
	// plugin connection sends (see sdk.MessageLimit); 0 keeps gRPC's
	// default.
	MessageLimit int
	// LogLevel is the daemon's log level (log.level), told to plugins so
	// they do not write lines the daemon would drop; "": every line.
	LogLevel string
}

// Host supervises plugin instances.
type Host struct {
	cfg       Config
	log       logrus.FieldLogger
	mu        sync.RWMutex
	instances map[string]*Instance
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// New returns a host; call Start to launch plugins.
func New(cfg Config, log logrus.FieldLogger) *Host {
	if cfg.RestartBudget == 0 {
		cfg.RestartBudget = 5
	}
	if cfg.RestartWindow == 0 {
		cfg.RestartWindow = 10 * time.Minute
	}
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = 5 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Host{cfg: cfg, log: log, instances: map[string]*Instance{}, ctx: ctx, cancel: cancel}
}

// Start launches the given plugins in parallel and waits until each is
// configured. If any fails its first start (missing binary, checksum
// mismatch, rejected options), Start stops the others and returns the
// errors: a daemon should not run half configured. With Config.Lenient,
// a plugin that rejected its options is only logged and left failed.
func (h *Host) Start(ctx context.Context, specs []Spec) error {
	results := make(chan error, len(specs))
	for _, spec := range specs {
		inst := &Instance{spec: spec, host: h, state: StateStarting}
		h.mu.Lock()
		if _, dup := h.instances[spec.Instance]; dup {
			h.mu.Unlock()
			return fmt.Errorf("plugin instance %q configured twice", spec.Instance)
		}
		h.instances[spec.Instance] = inst
		h.mu.Unlock()
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			inst.supervise(h.ctx, results)
		}()
	}
	var errs []error
	for range specs {
		select {
		case err := <-results:
			var rejected *OptionsError
			switch {
			case err == nil:
			case h.cfg.Lenient && errors.As(err, &rejected):
				h.log.WithError(err).Error("plugin refused its options; it stays stopped and /readyz reports it failed")
			default:
				errs = append(errs, err)
			}
		case <-ctx.Done():
			errs = append(errs, ctx.Err())
		}
		if len(errs) > 0 {
			break
		}
	}
	if len(errs) > 0 {
		h.Stop()
		return errors.Join(errs...)
	}
	return nil
}

// Check runs each plugin's start checks without keeping it running: the
// binary (present, not writable by others, its pinned checksum), then its
// options, by starting the process and asking it to check them in a dry
// run. It returns every problem, by instance.
func (h *Host) Check(ctx context.Context, specs []Spec) map[string]error {
	var (
		mu       sync.Mutex
		problems = map[string]error{}
		wg       sync.WaitGroup
	)
	for _, spec := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inst := &Instance{spec: spec, host: h, state: StateStarting}
			if err := inst.start(ctx, true); err != nil {
				mu.Lock()
				problems[spec.Instance] = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return problems
}

// Stop stops all plugin processes and waits for their supervisors.
func (h *Host) Stop() {
	h.cancel()
	h.wg.Wait()
}

// Instance returns a running instance by name, or nil.
func (h *Host) Instance(name string) *Instance {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.instances[name]
}

// Status lists every instance's state, by instance name.
func (h *Host) Status() []Status {
	h.mu.RLock()
	out := make([]Status, 0, len(h.instances))
	for _, inst := range h.instances {
		out = append(out, inst.Status())
	}
	h.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Instance < out[j].Instance })
	return out
}

// Ready reports whether every instance is up.
func (h *Host) Ready() bool {
	for _, st := range h.Status() {
		if st.State != StateUp {
			return false
		}
	}
	return true
}

// VerifyBinary checks that a plugin binary exists, is not writable by
// others, and matches its pinned checksum if one is given.
func VerifyBinary(dir, plugin, pinned string) (string, error) {
	path := filepath.Join(dir, plugin)
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("plugin %s: binary %s: %w", plugin, path, err)
	}
	if !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("plugin %s: %s is not an executable file", plugin, path)
	}
	if info.Mode().Perm()&0o002 != 0 {
		return "", fmt.Errorf("plugin %s: %s is writable by other users (mode %v); refusing to run it (chmod o-w)", plugin, path, info.Mode().Perm())
	}
	if dinfo, err := os.Stat(dir); err == nil && dinfo.Mode().Perm()&0o002 != 0 && dinfo.Mode()&os.ModeSticky == 0 {
		return "", fmt.Errorf("plugin %s: plugin directory %s is writable by other users (mode %v); refusing to run plugins from it", plugin, dir, dinfo.Mode().Perm())
	}
	if pinned == "" {
		return path, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("plugin %s: %w", plugin, err)
	}
	defer f.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return "", fmt.Errorf("plugin %s: read %s: %w", plugin, path, err)
	}
	actual := hex.EncodeToString(sum.Sum(nil))
	if actual != pinned {
		return "", fmt.Errorf("plugin %s: checksum mismatch: %s has sha256 %s, but [plugins.sha256] pins %s; not starting it", plugin, path, actual, pinned)
	}
	return path, nil
}

// Channel returns the current client of a channel instance. ok is false when
// no channel instance has that name; err is set while its plugin is not
// running.
func (h *Host) Channel(instance string) (ch sdk.Channel, ok bool, err error) {
	inst := h.Instance(instance)
	if inst == nil || inst.spec.Kind != sdk.KindChannel {
		return nil, false, nil
	}
	ch, err = inst.ChannelClient()
	return ch, true, err
}

// Desk returns the current desk client of a channel instance whose plugin
// serves a desk. ok is false when no channel instance has that name or its
// plugin serves no desk; err is set while its plugin is not running.
func (h *Host) Desk(instance string) (desk sdk.Desk, ok bool, err error) {
	inst := h.Instance(instance)
	if inst == nil || inst.spec.Kind != sdk.KindChannel || !inst.Capabilities().Desk {
		return nil, false, nil
	}
	desk, err = inst.DeskClient()
	return desk, true, err
}

// Capabilities returns what a channel instance said about itself when it was
// last configured; ok is false for an unknown instance.
func (h *Host) Capabilities(instance string) (caps sdk.Capabilities, ok bool) {
	inst := h.Instance(instance)
	if inst == nil || inst.spec.Kind != sdk.KindChannel {
		return sdk.Capabilities{}, false
	}
	return inst.Capabilities(), true
}

// LLM returns the current client of the model plugin (instance "llm").
func (h *Host) LLM() (sdk.LLM, error) {
	inst := h.Instance(LLMInstance)
	if inst == nil {
		return nil, sdk.NewError(sdk.Unavailable, errors.New("no model is configured"))
	}
	return inst.LLMClient()
}

// LLMInstance is the instance name of the model plugin.
const LLMInstance = "llm"
