package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// webhookEvents are the data-webhook events the desk role and native
// handoffs use.
var webhookEvents = []string{
	"conversation.attender.updated",
	"conversation.operator.replied",
	"conversation.completed",
	"conversation.missed",
}

const usage = `usage: salesiq setup --config FILE [--instance NAME] --public-url URL [--dry-run]

Registers the SalesIQ data webhook for the instance's webhook URL
(<public-url>/webhooks/<instance>), generates its signing key, and prints
what to set in the SalesIQ console for the Zobot.

  --config      the daemon's TOML config (only [channels.<instance>.options]
                is read; SWITCHBOARD_CHANNELS__<INSTANCE>__OPTIONS__<KEY>
                environment variables override it, as in the daemon)
  --instance    the channel instance name (default "siq")
  --public-url  the daemon's public https base URL, without a port
  --dry-run     print what would be registered and stop
`

// runCLI runs the plugin binary's command-line mode and returns the exit code.
func runCLI(args, env []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "setup" {
		fmt.Fprint(stderr, "This is a Switchboard plugin; the daemon starts it.\n\n"+usage)
		return 2
	}
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	cfgPath := fs.String("config", "", "")
	instance := fs.String("instance", "siq", "")
	publicURL := fs.String("public-url", "", "")
	dryRun := fs.Bool("dry-run", false, "")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *cfgPath == "" || *publicURL == "" {
		fs.Usage()
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := setup(ctx, setupArgs{cfgPath: *cfgPath, instance: *instance, publicURL: *publicURL, dryRun: *dryRun, env: env}, stdout); err != nil {
		fmt.Fprintln(stderr, "salesiq setup:", err)
		return 1
	}
	return 0
}

type setupArgs struct {
	cfgPath, instance, publicURL string
	dryRun                       bool
	env                          []string
}

// loadInstanceOptions reads [channels.<instance>.options] from the config
// file and applies the environment overrides the daemon would apply.
func loadInstanceOptions(path, instance string, env []string) (map[string]any, error) {
	doc, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	values, found, err := readTableTOML(string(doc), []string{"channels", instance, "options"})
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		rest, hasPrefix := strings.CutPrefix(name, "SWITCHBOARD_")
		if !ok || !hasPrefix {
			continue
		}
		parts := strings.Split(strings.ToLower(rest), "__")
		if len(parts) == 4 && parts[0] == "channels" && parts[1] == strings.ToLower(instance) && parts[2] == "options" {
			values[parts[3]] = value
			found = true
		}
	}
	if !found {
		return nil, fmt.Errorf("%s has no [channels.%s.options] table", path, instance)
	}
	return values, nil
}

func setup(ctx context.Context, a setupArgs, out io.Writer) error {
	values, err := loadInstanceOptions(a.cfgPath, a.instance, a.env)
	if err != nil {
		return err
	}
	if _, ok := values["public_keys"]; !ok {
		// The first setup runs before any key exists: it is what makes one.
		values["insecure_skip_signature"] = true
	}
	raw, err := sdk.NewOptions(values)
	if err != nil {
		return err
	}
	opts, err := parseOptions(raw)
	if err != nil {
		return fmt.Errorf("[channels.%s.options]: %w", a.instance, err)
	}
	base, err := url.Parse(strings.TrimRight(a.publicURL, "/"))
	if err != nil || base.Scheme == "" || base.Host == "" {
		return fmt.Errorf("--public-url: want a URL like https://bot.example.com, got %q", a.publicURL)
	}
	if base.Port() != "" {
		fmt.Fprintln(out, "warning: SalesIQ cannot call URLs with a port number; serve the webhook on the default https port.")
	}
	hook := base.String() + "/webhooks/" + url.PathEscape(a.instance)
	body := map[string]any{
		"type": "data", "url": hook, "events": webhookEvents, "secured": true,
		"app_ids": []string{string(opts.AppID)},
	}
	if a.dryRun {
		fmt.Fprintf(out, "would POST %s/api/v2/%s/webhooks with %v\n", opts.APIBase, opts.ScreenName, body)
		printZobotSteps(out, hook, opts)
		return nil
	}
	st, err := newState(opts, nil)
	if err != nil {
		return err
	}
	screen := url.PathEscape(opts.ScreenName)

	type webhook struct {
		ID  flexString `json:"id"`
		URL string     `json:"url"`
	}
	var existing []webhook
	if err := st.api.call(ctx, http.MethodGet, "/api/v2/"+screen+"/webhooks", nil, &existing); err != nil {
		return fmt.Errorf("list webhooks: %w", err)
	}
	for _, w := range existing {
		if w.URL == hook {
			fmt.Fprintf(out, "A data webhook for %s is already registered (id %s); nothing registered.\n", hook, w.ID)
			fmt.Fprintf(out, "To rotate its key: POST /api/v2/%s/webhooks/%s/keys, add the new key to public_keys, then delete the old one.\n", opts.ScreenName, w.ID)
			printZobotSteps(out, hook, opts)
			return nil
		}
	}
	var created webhook
	if err := st.api.call(ctx, http.MethodPost, "/api/v2/"+screen+"/webhooks", body, &created); err != nil {
		return fmt.Errorf("register the data webhook (the daemon must be running and answer HEAD %s with 200): %w", hook, err)
	}
	if created.ID == "" {
		return errors.New("register the data webhook: SalesIQ answered without an id")
	}
	var keys struct {
		PublicKeys []struct {
			Key flexString `json:"key"`
			ID  flexString `json:"id"`
		} `json:"public_keys"`
	}
	if err := st.api.call(ctx, http.MethodPost, "/api/v2/"+screen+"/webhooks/"+url.PathEscape(string(created.ID))+"/keys", nil, &keys); err != nil {
		return fmt.Errorf("generate the webhook's signing key: %w", err)
	}
	fmt.Fprintf(out, "Registered data webhook %s → %s\n  events: %s\n", created.ID, hook, strings.Join(webhookEvents, ", "))
	if len(keys.PublicKeys) > 0 {
		fmt.Fprintln(out, "\nAdd the data webhook's public key to public_keys:")
		for _, k := range keys.PublicKeys {
			fmt.Fprintf(out, "  %q\n", k.Key)
		}
	}
	printZobotSteps(out, hook, opts)
	return nil
}

func printZobotSteps(out io.Writer, hook string, opts Options) {
	fmt.Fprintf(out, `
Zobot (SalesIQ console):
  1. Settings > Bot > Zobot > Add: platform "Webhooks", brand (app %s).
  2. Webhook URL: %s
  3. Enable "Secure your webhook", generate the public key and add it to
     public_keys as well (the Zobot and the data webhook each sign with
     their own key).
  4. Let the bot forward to department %s; publish it.
OAuth: the refresh token needs the scopes SalesIQ.callbacks.UPDATE,
  SalesIQ.conversations.UPDATE, SalesIQ.webhooks.CREATE, SalesIQ.webhooks.READ
  and, for the desk role, an Org token with SalesIQ.Conversations.ALL.
`, opts.AppID, hook, opts.DepartmentID)
}
