// Command echo-channel is a complete example of a Switchboard channel plugin
// built only on the public SDK. Its "platform" is any HTTP client: it takes
// webhooks of the form
//
//	{"id":"evt-1","chat":"room-7","user":"u1","name":"Ann","text":"hello"}
//
// and sends replies by POSTing {"chat":"room-7","text":"echo: …"} to the
// reply_url option. Copy this folder to start a plugin for a real platform.
package main

import "github.com/switchboard-chat/switchboard/sdk"

func main() {
	sdk.Serve(sdk.Plugins{Channel: &Channel{}})
}
