package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

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

// setupUsage describes the flags of the setup step.
const setupUsage = `switchboard salesiq setup --config FILE [--instance NAME] --public-url URL [--dry-run]

Registers the SalesIQ data webhook for the instance's webhook URL
(<public-url>/webhooks/<instance>), generates its signing key, and prints
what to set in the SalesIQ console for the Zobot. The instance's options
come from the daemon's config, environment overrides included.

  --public-url  the daemon's public https base URL, without a port
  --dry-run     print what would be registered and stop
`

// Setup implements [sdk.Setup]: `switchboard salesiq setup` registers the
// data webhook of the instance.
func (c *Channel) Setup(ctx context.Context, req sdk.SetupRequest, out io.Writer) error {
	fs := flag.NewFlagSet("salesiq setup", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	publicURL := fs.String("public-url", "", "")
	dryRun := fs.Bool("dry-run", false, "")
	usageErr := func(problem string) error {
		return fmt.Errorf("%w: %s\n\n%s", sdk.ErrSetupUsage, problem, setupUsage)
	}
	switch err := fs.Parse(req.Args); {
	case errors.Is(err, flag.ErrHelp):
		return usageErr("salesiq setup")
	case err != nil:
		return usageErr(err.Error())
	case fs.NArg() > 0:
		return usageErr(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	case *publicURL == "":
		return usageErr("--public-url is required")
	}
	if err := setup(ctx, setupArgs{instance: req.Instance, options: req.Options, publicURL: *publicURL, dryRun: *dryRun}, out); err != nil {
		return fmt.Errorf("salesiq setup: %w", err)
	}
	return nil
}

type setupArgs struct {
	instance, publicURL string
	options             sdk.Options
	dryRun              bool
}

// setupOptions are the instance's options for the setup step: the first
// setup runs before any public key exists (it is what makes one), so a
// missing public_keys is allowed.
func setupOptions(instance string, o sdk.Options) (Options, error) {
	var values map[string]json.RawMessage
	if err := json.Unmarshal(o.JSON(), &values); err != nil {
		return Options{}, fmt.Errorf("[channels.%s.options]: %w", instance, err)
	}
	if _, ok := values["public_keys"]; !ok {
		values["insecure_skip_signature"] = json.RawMessage("true")
	}
	raw, err := json.Marshal(values)
	if err != nil {
		return Options{}, err
	}
	opts, err := parseOptions(sdk.OptionsFromJSON(raw))
	if err != nil {
		return Options{}, fmt.Errorf("[channels.%s.options]: %w", instance, err)
	}
	return opts, nil
}

func setup(ctx context.Context, a setupArgs, out io.Writer) error {
	opts, err := setupOptions(a.instance, a.options)
	if err != nil {
		return err
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
