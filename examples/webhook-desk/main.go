// Command webhook-desk is an example human desk plugin. It connects
// Switchboard to any help-desk system that can take HTTP calls and send
// webhooks: handoffs, relayed visitor messages and closes are POSTed to
// desk_url, and the desk reports what its operators do by POSTing to the
// plugin's webhook URL (/webhooks/<instance>):
//
//	{"id":"evt-9","type":"operator_message","ref":"T-17","operator":"Bob","text":"Hi, I'm Bob"}
//
// with type one of operator_joined, operator_message, closed, missed.
package main

import "github.com/switchboard-chat/switchboard/sdk"

func main() {
	d := &Desk{}
	sdk.Serve(sdk.Plugins{Channel: d, Desk: d})
}
