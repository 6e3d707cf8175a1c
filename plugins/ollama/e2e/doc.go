// Package e2e holds tests against a real Ollama server running a tiny
// generated model. They only build with the e2e tag:
//
//	plugins/ollama/e2e/start-ollama.sh /tmp/switchboard-ollama
//	OLLAMA_HOST=http://127.0.0.1:11500 go test -tags e2e ./plugins/ollama/e2e/ -v
//	plugins/ollama/e2e/stop-ollama.sh /tmp/switchboard-ollama
//
// install-ollama.sh builds the server binary; ggufgen writes the model.
// Use a fresh server per run: a client that disconnects mid-stream can leak
// one of the model's request slots in Ollama 0.17.4 (ollama/ollama#17131),
// and TestClientTimeout does exactly that.
package e2e
