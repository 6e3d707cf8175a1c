// Command telegram is the Switchboard channel plugin for Telegram bots: it
// takes updates by webhook or by getUpdates long polling and answers with
// sendMessage. See README.md for setting up a bot.
package main

import "github.com/switchboard-chat/switchboard/sdk"

func main() { sdk.Serve(sdk.Plugins{Channel: New()}) }
