package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/plugins/salesiq/siqtest"
)

func TestReadTableTOML(t *testing.T) {
	doc := `
# daemon config
[server]
listen = "127.0.0.1:8080" # comment

[channels.tg.options]
token = "not this one"

[channels.siq]
plugin = "salesiq"

[channels.siq.options]
screen_name = "acme"   # the portal
'quoted key' = 'literal \n stays'
department_id = 11209000000002024
insecure_skip_signature = false
public_keys = [
  "MIIBIjAN", # first
  """
-----BEGIN PUBLIC KEY-----
MIIB
-----END PUBLIC KEY-----""",
]
escaped = "tab\there \u00e9"
nested = { a = 1, b = "x" }

[[later.array]]
screen_name = "other"
`
	got, found, err := readTableTOML(doc, []string{"channels", "siq", "options"})
	if err != nil || !found {
		t.Fatalf("found %v, err %v", found, err)
	}
	want := map[string]any{
		"screen_name": "acme", "quoted key": `literal \n stays`, "department_id": int64(11209000000002024),
		"insecure_skip_signature": false,
		"public_keys":             []any{"MIIBIjAN", "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----"},
		"escaped":                 "tab\there é", "nested": map[string]any{"a": int64(1), "b": "x"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
	for _, bad := range []string{`[channels.siq.options]` + "\nkey = \"open", "[channels.siq\n", "[a]\nkey value"} {
		if _, _, err := readTableTOML(bad, []string{"channels", "siq", "options"}); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestSetupRegistersTheDataWebhook(t *testing.T) {
	f := siqtest.New(t)
	daemon := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer daemon.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	toml := strings.Replace(f.TOML("siq"), `client_secret = "`+siqtest.ClientSecret+`"`, `client_secret = "from-env-instead"`, 1)
	toml = strings.Replace(toml, "public_keys = [", "# no keys yet\n# public_keys = [", 1)
	if err := os.WriteFile(cfg, []byte("[server]\nlisten = \":8080\"\n"+toml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=/bin", "SWITCHBOARD_CHANNELS__SIQ__OPTIONS__CLIENT_SECRET=" + siqtest.ClientSecret}
	var out, errOut bytes.Buffer
	code := runCLI([]string{"setup", "--config", cfg, "--instance", "siq", "--public-url", daemon.URL}, env, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	hooks := f.Webhooks()
	if len(hooks) != 1 {
		t.Fatalf("webhooks %+v", hooks)
	}
	h := hooks[0]
	events, _ := h["events"].([]any)
	if h["type"] != "data" || h["secured"] != true || h["url"] != daemon.URL+"/webhooks/siq" || len(events) != 4 ||
		!reflect.DeepEqual(h["app_ids"], []any{siqtest.AppID}) {
		t.Errorf("registered %+v", h)
	}
	for _, want := range []string{siqtest.PublicKeyDER(f.Key), "Webhooks", daemon.URL + "/webhooks/siq", siqtest.DepartmentID} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// Running it again registers nothing new.
	out.Reset()
	if code := runCLI([]string{"setup", "--config", cfg, "--public-url", daemon.URL}, env, &out, &errOut); code != 0 || len(f.Webhooks()) != 1 {
		t.Fatalf("second run: exit %d, %d webhooks: %s", code, len(f.Webhooks()), errOut.String())
	}
}

func TestSetupUsage(t *testing.T) {
	tests := [][]string{nil, {"serve"}, {"setup"}, {"setup", "--config", "x.toml"}}
	for _, args := range tests {
		var out, errOut bytes.Buffer
		if code := runCLI(args, nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "usage: salesiq setup") {
			t.Errorf("%v: exit %d, %q", args, code, errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	if code := runCLI([]string{"setup", "--config", "/nonexistent.toml", "--public-url", "https://x"}, nil, &out, &errOut); code != 1 {
		t.Errorf("missing config: exit %d", code)
	}
}
