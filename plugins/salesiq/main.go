// Command salesiq is the Zoho SalesIQ channel plugin. It plays two roles: a
// Zobot on SalesIQ's Webhooks platform (the AI answers website visitors and
// hands them to SalesIQ operators with a "forward"), and a human desk for
// visitors on other channels (their chats are opened in SalesIQ through the
// Visitor API and operators answer there).
//
// Run by the daemon it serves the plugin; run by hand it is a small CLI:
//
//	salesiq setup --config switchboard.toml --instance siq --public-url https://bot.example.com
package main

import (
	"os"

	"github.com/switchboard-chat/switchboard/sdk"
)

func main() {
	if os.Getenv(sdk.Handshake().MagicCookieKey) == "" {
		os.Exit(runCLI(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
	}
	ch := &Channel{}
	sdk.Serve(sdk.Plugins{Channel: ch, Desk: ch})
}
