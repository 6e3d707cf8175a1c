// Command line is the Switchboard channel plugin for the LINE Messaging API.
//
// It verifies LINE webhooks (x-line-signature, HMAC-SHA256 over the raw
// body), turns their events into Switchboard events, and answers with the
// Reply API while the event's reply token is fresh, otherwise with the Push
// API and a retry key derived from the outbound message's ID. See README.md
// for the options and how to set up a LINE Official Account.
package main

import "github.com/switchboard-chat/switchboard/sdk"

func main() {
	sdk.Serve(sdk.Plugins{Channel: NewChannel(sdk.NewLogger())})
}
