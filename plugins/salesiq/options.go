package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/sdk"
)

// maxPublicKeys bounds public_keys: SalesIQ keeps at most two keys per
// webhook (rotation), and the Zobot and the data webhook each have their own.
const maxPublicKeys = 4

// Options are the [channels.<name>.options] keys of a SalesIQ instance.
type Options struct {
	// APIBase is the SalesIQ server of the portal's data centre, e.g.
	// https://salesiq.zoho.eu. Default https://salesiq.zoho.com.
	APIBase string `json:"api_base"`
	// AccountsBase is the Zoho Accounts server of the same data centre, e.g.
	// https://accounts.zoho.eu. Derived from APIBase when it is a
	// salesiq.<domain> host.
	AccountsBase string `json:"accounts_base"`
	// ScreenName is the portal's screen name (salesiq.zoho.com/<screen_name>).
	ScreenName string `json:"screen_name"`
	// ClientID, ClientSecret and RefreshToken are the OAuth client and its
	// refresh token (an Org token, which the Visitor API needs).
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	RefreshToken string `json:"refresh_token"`
	// AppID is the brand (app) visitor conversations are opened in.
	AppID ID `json:"app_id"`
	// DepartmentID is where handoffs go.
	DepartmentID ID `json:"department_id"`
	// PublicKeys verify the x-siqsignature of webhooks: Base64 DER
	// (SubjectPublicKeyInfo) or PEM. A request signed by any of them passes.
	PublicKeys StringList `json:"public_keys"`
	// InsecureSkipSignature accepts unsigned webhooks when no public key is
	// configured. Only for trials behind a private network.
	InsecureSkipSignature Bool `json:"insecure_skip_signature"`
	// Operators, when set, are the operator e-mails a native handoff is
	// forwarded to (within the department).
	Operators StringList `json:"operators"`
	// PendingReply is the text shown while the answer is being prepared
	// (the "pending" action's reply); empty shows nothing.
	PendingReply string `json:"pending_reply"`
	// Timeout bounds one call to Zoho. Default 10s.
	Timeout sdk.Duration `json:"timeout"`
}

// ID is an identifier written as a string or a number in the config.
type ID string

// UnmarshalJSON takes a string or an integer.
func (i *ID) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return errors.New("want an id (string or number)")
	}
	*i = ID(s)
	return nil
}

// StringList is a list of strings; a single string (as set through an
// environment variable) is split on commas.
type StringList []string

// UnmarshalJSON takes a list of strings or one comma-separated string.
func (l *StringList) UnmarshalJSON(b []byte) error {
	var list []string
	if err := json.Unmarshal(b, &list); err == nil {
		*l = list
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("want a list of strings")
	}
	*l = nil
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}

// Bool is a boolean that also reads "true"/"false" strings (environment
// overrides arrive as strings).
type Bool bool

// UnmarshalJSON takes a boolean or a string holding one.
func (v *Bool) UnmarshalJSON(b []byte) error {
	var x bool
	if err := json.Unmarshal(b, &x); err == nil {
		*v = Bool(x)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("want true or false")
	}
	x, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("want true or false, got %q", s)
	}
	*v = Bool(x)
	return nil
}

// flexString reads any JSON scalar as a string: Zoho sends ids and times as
// strings or numbers depending on the payload.
type flexString string

// UnmarshalJSON takes a string, number, boolean or null.
func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*f = ""
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	case string(b) == "true" || string(b) == "false":
		*f = flexString(b)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or number, got %.20s", b)
	}
	*f = flexString(n.String())
	return nil
}

// parseOptions decodes and checks the options and fills in defaults.
func parseOptions(o sdk.Options) (Options, error) {
	var opts Options
	if err := o.Decode(&opts); err != nil {
		return Options{}, err
	}
	if opts.APIBase == "" {
		opts.APIBase = "https://salesiq.zoho.com"
	}
	api, err := checkBase("api_base", opts.APIBase)
	if err != nil {
		return Options{}, err
	}
	opts.APIBase = api
	if opts.AccountsBase == "" {
		u, _ := url.Parse(opts.APIBase)
		host, ok := strings.CutPrefix(u.Hostname(), "salesiq.")
		if !ok {
			return Options{}, errors.New(`option "accounts_base" is required when "api_base" is not a salesiq.<domain> host`)
		}
		opts.AccountsBase = u.Scheme + "://accounts." + host
	}
	if opts.AccountsBase, err = checkBase("accounts_base", opts.AccountsBase); err != nil {
		return Options{}, err
	}
	for _, req := range []struct{ key, val string }{
		{"screen_name", opts.ScreenName}, {"client_id", opts.ClientID}, {"client_secret", opts.ClientSecret},
		{"refresh_token", opts.RefreshToken}, {"app_id", string(opts.AppID)}, {"department_id", string(opts.DepartmentID)},
	} {
		if strings.TrimSpace(req.val) == "" {
			return Options{}, fmt.Errorf("option %q is required", req.key)
		}
	}
	if strings.ContainsAny(opts.ScreenName, "/?#% ") {
		return Options{}, fmt.Errorf("option \"screen_name\": %q is not a screen name (the name in salesiq.zoho.com/<screen_name>)", opts.ScreenName)
	}
	if len(opts.PublicKeys) == 0 && !opts.InsecureSkipSignature {
		return Options{}, errors.New(`option "public_keys" is required: webhooks are verified with SalesIQ's public keys (set insecure_skip_signature = true to accept unsigned webhooks, never in production)`)
	}
	if len(opts.PublicKeys) > maxPublicKeys {
		return Options{}, fmt.Errorf("option \"public_keys\": at most %d keys (the Zobot's and the data webhook's, two each during rotation), got %d", maxPublicKeys, len(opts.PublicKeys))
	}
	if opts.Timeout < 0 {
		return Options{}, errors.New(`option "timeout" must be positive`)
	}
	if opts.Timeout == 0 {
		opts.Timeout = sdk.Duration(10 * time.Second)
	}
	return opts, nil
}

// checkBase validates an http(s) base URL without a path (the API's paths
// start at the server's root) and strips its trailing slash.
func checkBase(key, raw string) (string, error) {
	base, err := sdk.BaseURLOption(key, raw)
	if err != nil {
		return "", err
	}
	if u, _ := url.Parse(base); u.Path != "" {
		return "", &sdk.OptionError{Key: key, Err: fmt.Errorf("want the server's root URL like https://salesiq.zoho.com, without a path, got %q", raw)}
	}
	return base, nil
}
