// Command ollama is the Switchboard LLM plugin for Ollama
// (https://ollama.com): chat turns stream from /api/chat with tools, and
// embeddings come from /api/embed. Its options, in [llm.options]:
//
//	host = "http://127.0.0.1:11434"  # default
//	model = "qwen2.5:1.5b"           # required
//	timeout = "60s"                  # per turn; default 60s
//	keep_alive = "5m"                # optional
//	temperature = 0.3                # optional
//	num_ctx = 4096                   # optional
package main

import "github.com/switchboard-chat/switchboard/sdk"

func main() {
	sdk.Serve(sdk.Plugins{LLM: &LLM{Log: sdk.NewLogger()}})
}
