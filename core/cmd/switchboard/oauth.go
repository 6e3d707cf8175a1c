package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/switchboard-chat/switchboard/core/httpapi"
)

// oauthClientCommand runs `switchboard oauth-client create|list|revoke`:
// the clients of POST /oauth/token, through the admin API like apikey.
func oauthClientCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: switchboard oauth-client create|list|revoke [flags]")
		return 2
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("oauth-client "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	af := addAdminFlags(fs)
	name := fs.String("name", "", "name of the client (create)")
	scopes := fs.String("scopes", "", "comma-separated: conversations:read, conversations:write, admin (create)")
	allow := fs.String("allow-ip", "", "comma-separated addresses or CIDRs the client may get and use tokens from (create)")
	rate := fs.String("rate", "", "request rate limit of the client's tokens like 20/s, 600/m (create)")
	a, code := parseAdmin(fs, af, args, stderr)
	if a == nil {
		return code
	}
	defer a.close()
	var err error
	switch sub {
	case "create":
		var out httpapi.CreatedOAuthClient
		err = a.do("POST", "/v1/admin/oauth-clients", httpapi.CreateKeyRequest{
			Name: *name, Scopes: splitList(*scopes), AllowIPs: splitList(*allow), Rate: *rate,
		}, &out)
		if err != nil {
			break
		}
		fmt.Fprintf(stdout, "client_id:     %s\nclient_secret: %s\n\nclient %s (%s) ", out.ClientID, out.ClientSecret, out.ClientID, out.Name)
		printAccess(stdout, out.Scopes, out.AllowIPs, out.Rate)
		fmt.Fprintln(stdout, "\nThe secret is shown only now; only its SHA-256 is stored.")
	case "list":
		var out httpapi.OAuthClientList
		if err = a.do("GET", "/v1/admin/oauth-clients", nil, &out); err != nil {
			break
		}
		for _, c := range out.Clients {
			printListed(stdout, c.ClientID, c.Name, c.Scopes, c.AllowIPs, c.Rate, c.CreatedAt, c.RevokedAt)
		}
	case "revoke":
		if fs.NArg() != 1 {
			fmt.Fprintln(stderr, "usage: switchboard oauth-client revoke [flags] ID|NAME")
			return 2
		}
		var out httpapi.OAuthClientInfo
		if err = a.do("POST", "/v1/admin/oauth-clients/"+fs.Arg(0)+"/revoke", nil, &out); err == nil {
			fmt.Fprintf(stdout, "revoked %s (%s); its access tokens no longer work\n", out.ClientID, out.Name)
		}
	default:
		fmt.Fprintf(stderr, "switchboard oauth-client: unknown command %q\n", sub)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	return 0
}
