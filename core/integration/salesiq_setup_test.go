package integration

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/plugins/salesiq/siqtest"
)

// `switchboard salesiq setup` registers the data webhook with the options
// the daemon would use: the file's, overridden by the environment.
func TestSalesIQSetupCommand(t *testing.T) {
	f := siqtest.New(t)
	public := newServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})) // answers SalesIQ's HEAD check
	toml := strings.Replace(f.TOML("siq"), `client_secret = "`+siqtest.ClientSecret+`"`, `client_secret = "from-env-instead"`, 1)
	toml = strings.Replace(toml, "public_keys = [", "# no keys yet\n# public_keys = [", 1)
	cfgPath, _ := writeConfig(t, t.TempDir(), toml)
	setup := func(args ...string) (string, int) {
		cmd := exec.Command(filepath.Join(binDir, "switchboard"), append([]string{"salesiq", "setup", "--config", cfgPath}, args...)...)
		cmd.Env = append(os.Environ(), "SWITCHBOARD_CHANNELS__SIQ__OPTIONS__CLIENT_SECRET="+siqtest.ClientSecret)
		out, err := runWithTimeout(cmd, 30*time.Second)
		return out, exitCode(err)
	}

	if out, code := setup("--public-url", public, "--dry-run"); code != 0 || !strings.Contains(out, "would POST") || len(f.Webhooks()) != 0 {
		t.Fatalf("dry run: exit %d, %d webhooks\n%s", code, len(f.Webhooks()), out)
	}
	out, code := setup("--instance", "siq", "--public-url", public)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	hooks := f.Webhooks()
	if len(hooks) != 1 || hooks[0]["url"] != public+"/webhooks/siq" {
		t.Fatalf("registered %+v", hooks)
	}
	if !strings.Contains(out, siqtest.PublicKeyDER(f.Key)) {
		t.Errorf("output lacks the webhook's public key:\n%s", out)
	}
	if out, code := setup(); code != 2 || !strings.Contains(out, "--public-url is required") {
		t.Errorf("without --public-url: exit %d\n%s", code, out)
	}
}

// `switchboard setup --instance NAME` runs the setup step of whichever
// plugin serves the instance, and says so when it has none.
func TestSetupCommandOfAnyPlugin(t *testing.T) {
	f := siqtest.New(t)
	cfgPath, _ := writeConfig(t, t.TempDir(), f.TOML("desk")+echoChannel("http://127.0.0.1:1/replies"))
	run := func(args ...string) (string, int) {
		out, err := runWithTimeout(exec.Command(filepath.Join(binDir, "switchboard"), append([]string{"setup", "--config", cfgPath}, args...)...), 30*time.Second)
		return out, exitCode(err)
	}
	if out, code := run("--instance", "desk", "--public-url", "https://bot.example.com", "--dry-run"); code != 0 || !strings.Contains(out, "https://bot.example.com/webhooks/desk") {
		t.Errorf("salesiq instance: exit %d\n%s", code, out)
	}
	if out, code := run("--instance", "demo"); code != 2 || !strings.Contains(out, "no setup step") {
		t.Errorf("echo instance: exit %d\n%s", code, out)
	}
}
