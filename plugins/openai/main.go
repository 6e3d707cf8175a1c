// Command openai is the Switchboard LLM plugin for any server that speaks
// the OpenAI Chat Completions API: vLLM, llama.cpp's llama-server, LM
// Studio, LocalAI, OpenAI itself and others. Chat turns stream from
// /chat/completions with tools, embeddings come from /embeddings, and the
// health check asks /models whether the model is served. Its options, in
// [llm.options]:
//
//	base_url = "http://127.0.0.1:8000/v1"  # required: the API root
//	model = "qwen2.5-7b-instruct"          # required: an id GET /models lists
//	api_key = "…"                          # optional: sent as a bearer token
//	timeout = "60s"                        # per turn; default 60s
package main

import "github.com/switchboard-chat/switchboard/sdk"

func main() {
	sdk.Serve(sdk.Plugins{LLM: &LLM{Log: sdk.NewLogger()}})
}
