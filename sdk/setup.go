package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Setup is implemented by a plugin that has a one-off step run by hand,
// such as registering its webhook with the platform. The daemon's command
// (`switchboard salesiq setup --config F …` for the SalesIQ plugin) loads
// the config exactly as the daemon does, file and environment overrides,
// and runs the plugin binary with the instance's options; the plugin never
// reads the config file itself.
//
// Setup writes what the person running it should read or do next to out.
// An error is printed and the command exits with status 1, or 2 when the
// error wraps [ErrSetupUsage].
type Setup interface {
	Setup(ctx context.Context, req SetupRequest, out io.Writer) error
}

// SetupRequest is what a plugin's [Setup] gets.
type SetupRequest struct {
	// Instance is the configured name, e.g. "siq" for [channels.siq].
	Instance string
	// Options is the instance's options table, as [Channel.Configure]
	// would get it.
	Options Options
	// Args are the command-line arguments meant for the plugin: those
	// after the setup command's own --config and --instance.
	Args []string
}

// ErrSetupUsage marks a [Setup] error about the command line: the command
// prints it (with the plugin's usage, if the message holds it) and exits
// with status 2.
var ErrSetupUsage = errors.New("usage")

// SetupEnv is set to "1" in the environment of a plugin binary run for its
// setup step; the [SetupRequest] is then JSON (see [EncodeSetupRequest]) on
// the binary's standard input, out of sight of other users' ps.
const SetupEnv = "SWITCHBOARD_PLUGIN_SETUP"

// setupWire is the JSON form of a SetupRequest.
type setupWire struct {
	Instance string          `json:"instance"`
	Options  json.RawMessage `json:"options"`
	Args     []string        `json:"args"`
}

// EncodeSetupRequest is the standard input of a plugin binary run for its
// setup step (with [SetupEnv] set).
func EncodeSetupRequest(req SetupRequest) ([]byte, error) {
	return json.Marshal(setupWire{Instance: req.Instance, Options: req.Options.JSON(), Args: req.Args})
}

func decodeSetupRequest(r io.Reader) (SetupRequest, error) {
	var w setupWire
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return SetupRequest{}, fmt.Errorf("read the setup request: %w", err)
	}
	return SetupRequest{Instance: w.Instance, Options: OptionsFromJSON(w.Options), Args: w.Args}, nil
}

// runSetup runs the setup step of whichever of impls implements [Setup],
// reading the request from in, and returns the exit status.
func runSetup(ctx context.Context, in io.Reader, out, errOut io.Writer, impls ...any) int {
	var s Setup
	for _, impl := range impls {
		if impl, ok := impl.(Setup); ok && s == nil {
			s = impl
		}
	}
	if s == nil {
		fmt.Fprintln(errOut, "this plugin has no setup step")
		return 2
	}
	req, err := decodeSetupRequest(in)
	if err != nil {
		fmt.Fprintln(errOut, "setup:", err)
		return 2
	}
	if err := s.Setup(ctx, req, out); err != nil {
		fmt.Fprintln(errOut, err)
		if errors.Is(err, ErrSetupUsage) {
			return 2
		}
		return 1
	}
	return 0
}

// serveSetup runs the setup step of a plugin binary started for it (see
// [SetupEnv]) and exits; Ctrl-C cancels it.
func serveSetup(p Plugins) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runSetup(ctx, os.Stdin, os.Stdout, os.Stderr, p.Channel, p.LLM)
	stop()
	os.Exit(code)
}
