// Command salesiq is the Zoho SalesIQ channel plugin. It plays two roles: a
// Zobot on SalesIQ's Webhooks platform (the AI answers website visitors and
// hands them to SalesIQ operators with a "forward"), and a human desk for
// visitors on other channels (their chats are opened in SalesIQ through the
// Visitor API and operators answer there).
//
// The daemon runs it as a plugin; `switchboard salesiq setup` runs its setup
// step (see [Channel.Setup]), which registers the data webhook:
//
//	switchboard salesiq setup --config config.toml --instance siq --public-url https://bot.example.com
package main

import (
	"github.com/switchboard-chat/switchboard/sdk"
)

func main() {
	ch := &Channel{}
	sdk.Serve(sdk.Plugins{Channel: ch, Desk: ch})
}
