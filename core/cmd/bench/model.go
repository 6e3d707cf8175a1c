package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
)

// model starts the benchmark's model: a minimal Ollama server with the
// routes the ollama plugin calls (/api/version, /api/tags, /api/chat, in
// the shapes of Ollama's API), answering each chat after delay (0: at
// once) with "ack" and the bench tokens ("k<N>") of every visitor line
// since the last answer, so the fake Telegram can tell which webhook each
// reply answers. It keeps nothing between requests.
func model(delay time.Duration) (string, func()) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/version", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"version": "0.0.0-bench"})
	})
	mux.HandleFunc("GET /api/tags", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(api.ListResponse{Models: []api.ListModelResponse{{Name: benchModel, Model: benchModel}}})
	})
	mux.HandleFunc("POST /api/chat", func(w http.ResponseWriter, r *http.Request) {
		var req api.ChatRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		var pending []string
		for _, m := range req.Messages {
			switch m.Role {
			case "assistant":
				pending = pending[:0]
			case "user":
				for _, t := range tokensOf(m.Content) {
					pending = append(pending, "k"+strconv.FormatInt(t, 10))
				}
			}
		}
		answer := api.Message{Role: "assistant", Content: "ack " + strings.Join(pending, " ")}
		enc := json.NewEncoder(w)
		if req.Stream != nil && !*req.Stream {
			enc.Encode(api.ChatResponse{Model: req.Model, Message: answer, Done: true, DoneReason: "stop"})
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc.Encode(api.ChatResponse{Model: req.Model, Message: answer})
		enc.Encode(api.ChatResponse{Model: req.Model, Message: api.Message{Role: "assistant"}, Done: true, DoneReason: "stop"})
	})
	srv := httptest.NewServer(mux)
	return srv.URL, srv.Close
}
