package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/accounts"
	"github.com/switchboard-chat/switchboard/core/config"
	"github.com/switchboard-chat/switchboard/core/httpapi"
	"github.com/switchboard-chat/switchboard/core/kb"
	"github.com/switchboard-chat/switchboard/core/pluginhost"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// admin runs requests against the admin API: in-process on the database
// file when no daemon holds it, else over HTTP to the running daemon. Both
// paths run the same handlers, checks and audit trail.
type admin struct {
	handler http.Handler // in-process
	st      *store.Store
	token   string
	url     string // running daemon
	client  *http.Client
}

// adminFlags are the flags every admin command takes.
type adminFlags struct {
	config *string
	url    *string
	key    *string
}

func addAdminFlags(fs *flag.FlagSet) adminFlags {
	return adminFlags{
		config: fs.String("config", defaultConfigPath, "path to the config file"),
		url:    fs.String("url", "", "daemon URL when it is running (default: from server.listen)"),
		key:    fs.String("key", "", "admin API key for a running daemon (default: $SWITCHBOARD_ADMIN_KEY, else the first api.keys entry)"),
	}
}

func openAdmin(f adminFlags) (*admin, error) {
	cfg, err := config.Load(*f.config, os.Environ())
	if err != nil {
		return nil, err
	}
	st, err := store.Open(cfg.DBPath(), store.Options{})
	if err == nil {
		token := store.NewKeySecret()
		log := logrus.New()
		log.SetOutput(io.Discard)
		knowledge, err := kb.Open(context.Background(), st, kb.Options{})
		if err != nil {
			st.Close()
			return nil, err
		}
		h, err := httpapi.New(httpapi.Config{MaxBodyBytes: cfg.Server.MaxBodyBytes, LocalKey: token, KB: knowledge, Operators: accounts.New(st, time.Now)}, st, nil, nil,
			func() (bool, any) { return true, nil }, log)
		if err != nil {
			st.Close()
			return nil, err
		}
		return &admin{handler: h, st: st, token: token}, nil
	}
	if !errors.Is(err, store.ErrLocked) {
		return nil, err
	}
	// The daemon is running: ask it.
	a := &admin{url: *f.url, token: *f.key, client: &http.Client{Timeout: 30 * time.Second}}
	if a.url == "" {
		// The listener itself: console.public_url may be a proxy in front.
		local := *cfg
		local.Console.PublicURL = ""
		a.url = local.BaseURL()
	}
	if a.token == "" {
		a.token = os.Getenv("SWITCHBOARD_ADMIN_KEY")
	}
	if a.token == "" && len(cfg.API.Keys) > 0 {
		a.token = cfg.API.Keys[0]
	}
	if a.token == "" {
		return nil, errors.New("the daemon is running and holds the database; pass an admin key with --key or SWITCHBOARD_ADMIN_KEY")
	}
	return a, nil
}

// parseAdmin parses an admin command's flags and opens the admin API; on
// failure it has said why and returns the exit code.
func parseAdmin(fs *flag.FlagSet, af adminFlags, args []string, stderr io.Writer) (*admin, int) {
	if err := fs.Parse(args); err != nil {
		return nil, 2
	}
	a, err := openAdmin(af)
	if err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return nil, 1
	}
	return a, 0
}

func (a *admin) close() {
	if a.st != nil {
		a.st.Close()
	}
}

// do sends one admin request and decodes the JSON answer into out. A
// non-2xx answer is returned as an error with the API's message.
func (a *admin) do(method, path string, body, out any) error {
	var buf bytes.Buffer
	if err := a.stream(method, path, body, &buf); err != nil {
		return err
	}
	if out != nil {
		return json.Unmarshal(buf.Bytes(), out)
	}
	return nil
}

// stream sends one admin request and copies a 2xx answer's body to w.
func (a *admin) stream(method, path string, body any, w io.Writer) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	target := "http://local" + path
	if a.handler == nil {
		target = a.url + path
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	var status int
	var payload io.Reader
	if a.handler != nil {
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		req.RemoteAddr = "127.0.0.1:0"
		a.handler.ServeHTTP(rec, req)
		status, payload = rec.status, &rec.body
	} else {
		resp, err := a.client.Do(req)
		if err != nil {
			return fmt.Errorf("ask the daemon at %s: %w", a.url, err)
		}
		defer resp.Body.Close()
		status, payload = resp.StatusCode, resp.Body
	}
	if status >= 300 {
		data, _ := io.ReadAll(io.LimitReader(payload, 1<<20))
		var e httpapi.ErrorBody
		if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
			return errors.New(e.Error.Message)
		}
		return fmt.Errorf("%s %s: HTTP %d", method, path, status)
	}
	_, err = io.Copy(w, payload)
	return err
}

// recorder is the ResponseWriter of in-process admin requests.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }

func apikeyCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: switchboard apikey create|list|revoke [flags]")
		return 2
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("apikey "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	af := addAdminFlags(fs)
	name := fs.String("name", "", "name of the key (create)")
	scopes := fs.String("scopes", "", "comma-separated: conversations:read, conversations:write, admin, kb:read, kb:write, tickets:read, tickets:write (create)")
	allow := fs.String("allow-ip", "", "comma-separated addresses or CIDRs the key may be used from (create)")
	rate := fs.String("rate", "", "request rate limit like 20/s, 600/m (create)")
	a, code := parseAdmin(fs, af, args, stderr)
	if a == nil {
		return code
	}
	defer a.close()
	var err error
	switch sub {
	case "create":
		var out httpapi.CreatedAPIKey
		err = a.do("POST", "/v1/admin/apikeys", httpapi.CreateKeyRequest{
			Name: *name, Scopes: splitList(*scopes), AllowIPs: splitList(*allow), Rate: *rate,
		}, &out)
		if err != nil {
			break
		}
		fmt.Fprintf(stdout, "%s\n\nkey %s (%s) ", out.Key, out.ID, out.Name)
		printAccess(stdout, out.Scopes, out.AllowIPs, out.Rate)
		fmt.Fprintln(stdout, "\nThe key is shown only now; only its SHA-256 is stored.")
	case "list":
		var out httpapi.APIKeyList
		if err = a.do("GET", "/v1/admin/apikeys", nil, &out); err != nil {
			break
		}
		for _, k := range out.Keys {
			printListed(stdout, k.ID, k.Name, k.Scopes, k.AllowIPs, k.Rate, k.CreatedAt, k.RevokedAt)
		}
	case "revoke":
		if fs.NArg() != 1 {
			fmt.Fprintln(stderr, "usage: switchboard apikey revoke [flags] ID|NAME")
			return 2
		}
		if err = a.do("POST", "/v1/admin/apikeys/"+fs.Arg(0)+"/revoke", nil, nil); err == nil {
			fmt.Fprintln(stdout, "revoked", fs.Arg(0))
		}
	default:
		fmt.Fprintf(stderr, "switchboard apikey: unknown command %q\n", sub)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	return 0
}

func auditCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, "usage: switchboard audit verify [--config F | --db FILE]")
		return 2
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	af := addAdminFlags(fs)
	db := fs.String("db", "", "verify this database file (a copy or backup) instead of the configured one")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	var n int
	var err error
	if *db != "" {
		var st *store.Store
		if st, err = store.Open(*db, store.Options{}); err == nil {
			n, err = st.VerifyAudit()
			st.Close()
		}
	} else {
		var a *admin
		if a, err = openAdmin(af); err == nil {
			var out httpapi.AuditVerification
			err = a.do("GET", "/v1/admin/audit/verify", nil, &out)
			n = out.Entries
			a.close()
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "audit verify failed:", err)
		return 1
	}
	fmt.Fprintf(stdout, "audit log intact: %d entries\n", n)
	return 0
}

// printAccess writes what a key or OAuth client may do: "scopes S[ from
// CIDRS][ at R/s]".
func printAccess(w io.Writer, scopes, allowIPs []string, rate float64) {
	fmt.Fprintf(w, "scopes %s", strings.Join(scopes, ","))
	if len(allowIPs) > 0 {
		fmt.Fprintf(w, " from %s", strings.Join(allowIPs, ","))
	}
	if rate > 0 {
		fmt.Fprintf(w, " at %g/s", rate)
	}
}

// printListed writes one line of a key or OAuth client list.
func printListed(w io.Writer, id, name string, scopes, allowIPs []string, rate float64, created time.Time, revoked *time.Time) {
	status := "active"
	if revoked != nil {
		status = "revoked " + revoked.Format(time.RFC3339)
	}
	fmt.Fprintf(w, "%s\t%s\t%s\tallow=%s\trate=%g/s\tcreated %s\t%s\n", id, name, strings.Join(scopes, ","),
		orAny(strings.Join(allowIPs, ",")), rate, created.Format(time.RFC3339), status)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func orAny(s string) string {
	if s == "" {
		return "any"
	}
	return s
}

func deadletterCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: switchboard deadletter list | retry ID | drop ID")
		return 2
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("deadletter "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	af := addAdminFlags(fs)
	a, code := parseAdmin(fs, af, args, stderr)
	if a == nil {
		return code
	}
	defer a.close()
	var err error
	switch sub {
	case "list":
		var out httpapi.DeadLetterList
		if err = a.do("GET", "/v1/admin/deadletters", nil, &out); err != nil {
			break
		}
		for _, d := range out.DeadLetters {
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\tattempts=%d\tfailed %s\t%s\n", d.ID, d.ConversationID, d.Channel, d.Kind,
				d.Attempts, d.FailedAt.Format(time.RFC3339), d.Error)
		}
		if len(out.DeadLetters) == 0 {
			fmt.Fprintln(stdout, "no dead letters")
		}
	case "retry", "drop":
		if fs.NArg() != 1 {
			fmt.Fprintf(stderr, "usage: switchboard deadletter %s [flags] ID\n", sub)
			return 2
		}
		if err = a.do("POST", "/v1/admin/deadletters/"+fs.Arg(0)+"/"+sub, nil, nil); err == nil {
			fmt.Fprintf(stdout, "%s: %s\n", fs.Arg(0), map[string]string{"retry": "queued again", "drop": "dropped"}[sub])
		}
	default:
		fmt.Fprintf(stderr, "switchboard deadletter: unknown command %q\n", sub)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	return 0
}

func backupCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	af := addAdminFlags(fs)
	out := fs.String("out", "", "file to write the backup to (required)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" {
		fmt.Fprintln(stderr, "usage: switchboard backup --out FILE [--config F]")
		return 2
	}
	err := writeBackup(af, *out)
	if err != nil {
		fmt.Fprintln(stderr, "switchboard backup:", err)
		return 1
	}
	fmt.Fprintln(stdout, "backup written to", *out)
	return 0
}

// writeBackup writes the backup next to out and renames it into place once
// it is complete and synced, so out is never a partial copy.
func writeBackup(af adminFlags, out string) error {
	a, err := openAdmin(af)
	if err != nil {
		return err
	}
	defer a.close()
	tmp, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".partial-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := a.stream("GET", "/v1/admin/backup", nil, tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

// salesiqCommand runs the SalesIQ plugin's setup step (it registers the
// data webhook with Zoho), so the plugin keeps all SalesIQ knowledge.
func salesiqCommand(args []string, stdout, stderr io.Writer) int {
	const usage = "usage: switchboard salesiq setup --config F [--instance siq] --public-url https://… [--dry-run]\n"
	if len(args) == 0 || args[0] != "setup" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	return pluginSetup("salesiq", "siq", usage, args[1:], stdout, stderr)
}

// setupCommand runs `switchboard setup --instance NAME [--config F] [flags]`:
// the setup step of whichever plugin serves the instance.
func setupCommand(args []string, stdout, stderr io.Writer) int {
	return pluginSetup("", "", "usage: switchboard setup --instance NAME [--config F] [flags of the plugin's setup]\n", args, stdout, stderr)
}

// pluginSetup loads the config as the daemon does and runs the setup step
// (see sdk.Setup) of the instance's plugin binary with the instance's
// options. args hold --config and --instance, and the plugin's own flags;
// plugin, when set, is the plugin the instance must use.
func pluginSetup(plugin, defaultInstance, usage string, args []string, stdout, stderr io.Writer) int {
	own, rest, err := cutFlags(args, "config", "instance")
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: %v\n%s", err, usage)
		return 2
	}
	path, instance := cmp.Or(own["config"], defaultConfigPath), cmp.Or(own["instance"], defaultInstance)
	if instance == "" {
		fmt.Fprint(stderr, "switchboard: --instance is required\n"+usage)
		return 2
	}
	cfg, err := config.Load(path, os.Environ())
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", path, err)
		return 1
	}
	ch, ok := cfg.Channels[instance]
	if !ok {
		fmt.Fprintf(stderr, "%s: there is no [channels.%s] (name the instance with --instance)\n", path, instance)
		return 1
	}
	if plugin != "" && ch.Plugin != plugin {
		fmt.Fprintf(stderr, "%s: channels.%s.plugin is %q, not %s\n", path, instance, ch.Plugin, plugin)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	spec := pluginhost.Spec{Instance: instance, Plugin: ch.Plugin, Kind: sdk.KindChannel, Options: ch.Options, SHA256: cfg.Plugins.SHA256[ch.Plugin]}
	if err := pluginhost.RunSetup(ctx, cfg.Plugins.Dir, spec, rest, stdout, stderr); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() > 0 {
			return exit.ExitCode()
		}
		fmt.Fprintf(stderr, "switchboard: setup of %s: %v\n", instance, err)
		return 1
	}
	return 0
}

// cutFlags takes the named flags (-name V, --name V, -name=V, --name=V) out
// of args and returns their values and the other arguments, in order.
func cutFlags(args []string, names ...string) (values map[string]string, rest []string, err error) {
	values = map[string]string{}
	for i := 0; i < len(args); i++ {
		name, value, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !strings.HasPrefix(args[i], "-") || !slices.Contains(names, name) {
			rest = append(rest, args[i])
			continue
		}
		if !hasValue {
			if i+1 == len(args) {
				return nil, nil, fmt.Errorf("flag needs an argument: %s", args[i])
			}
			i++
			value = args[i]
		}
		values[name] = value
	}
	return values, rest, nil
}
