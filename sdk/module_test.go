package sdk

import (
	"os/exec"
	"path"
	"strings"
	"testing"
)

// daemonModule is the module of the daemon, whose packages under core a
// plugin must never import through the SDK.
const daemonModule = "github.com/switchboard-chat/switchboard"

// daemonOnly are the daemon's dependencies that must never reach a plugin
// author's module graph through the SDK: the store, the config loader, the
// logger and the metrics.
var daemonOnly = []string{
	"go.etcd.io/bbolt",
	"github.com/knadh/koanf",
	"github.com/sirupsen/logrus",
	"github.com/prometheus/",
	path.Join(daemonModule, "core"),
}

// The SDK is its own module so that a plugin depends only on what the SDK
// needs. Neither its packages (with their tests) nor its module graph may
// hold the daemon's dependencies.
func TestModuleLeavesOutTheDaemonsDependencies(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH:", err)
	}
	for _, args := range [][]string{
		{"list", "-deps", "-test", "./..."},
		{"list", "-m", "all"},
	} {
		cmd := exec.Command(goTool, args...)
		cmd.Dir = "." // the module root: this package's directory
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go %s: %v", strings.Join(args, " "), err)
		}
		lines := strings.Fields(string(out))
		if len(lines) < 10 {
			t.Fatalf("go %s listed only %q", strings.Join(args, " "), lines)
		}
		for _, line := range lines {
			for _, banned := range daemonOnly {
				if strings.HasPrefix(line, banned) {
					t.Errorf("go %s lists %s", strings.Join(args, " "), line)
				}
			}
		}
	}
}
