package pluginhost

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"

	"github.com/switchboard-chat/switchboard/sdk"
)

// RunSetup runs the setup step of spec's plugin (see [sdk.Setup]) with the
// binary from dir: the binary is checked as for a start (permissions,
// pinned checksum), gets the instance's options and args on its standard
// input and the same environment as a served plugin, and writes to stdout
// and stderr. A binary that fails returns an *exec.ExitError carrying its
// exit status.
func RunSetup(ctx context.Context, dir string, spec Spec, args []string, stdout, stderr io.Writer) error {
	path, err := VerifyBinary(dir, spec.Plugin, spec.SHA256)
	if err != nil {
		return err
	}
	opts, err := sdk.NewOptions(spec.Options)
	if err != nil {
		return fmt.Errorf("plugin %s: %w", spec.Instance, err)
	}
	req, err := sdk.EncodeSetupRequest(sdk.SetupRequest{Instance: spec.Instance, Options: opts, Args: args})
	if err != nil {
		return fmt.Errorf("plugin %s: %w", spec.Instance, err)
	}
	cmd := exec.CommandContext(ctx, path)
	cmd.Env = append(pluginEnv(""), sdk.SetupEnv+"=1")
	cmd.Stdin = bytes.NewReader(req)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	return cmd.Run()
}
