package ollamatest

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests check the fake against the documented wire format with plain
// HTTP, so that it can be trusted as a stand-in for Ollama.

func post(t *testing.T, url, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func lines(t *testing.T, r io.Reader) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestStreamedChat(t *testing.T) {
	f := New("llama3.2")
	f.Reply = func(ChatRequest) Response { return Text("The sky is blue") }
	url := f.Start(t)

	resp := post(t, url+"/api/chat", `{"model":"llama3.2","messages":[{"role":"user","content":"why is the sky blue?"}]}`)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	objs := lines(t, resp.Body)
	if len(objs) != 5 {
		t.Fatalf("got %d objects, want 4 pieces and a final one: %v", len(objs), objs)
	}
	var text strings.Builder
	for _, o := range objs[:4] {
		if o["done"] != false || o["model"] != "llama3.2" || o["created_at"] == nil {
			t.Errorf("piece %v", o)
		}
		msg := o["message"].(map[string]any)
		if msg["role"] != "assistant" {
			t.Errorf("role %v", msg["role"])
		}
		text.WriteString(msg["content"].(string))
	}
	if text.String() != "The sky is blue" {
		t.Errorf("text %q", text.String())
	}
	last := objs[4]
	if last["done"] != true || last["done_reason"] != "stop" || last["total_duration"] == nil || last["eval_count"] == nil {
		t.Errorf("final object %v", last)
	}
	if got := f.Requests(); len(got) != 1 || got[0].LastUser() != "why is the sky blue?" || !got[0].Streaming() {
		t.Errorf("recorded %+v", got)
	}
}

func TestUnstreamedChatWithTools(t *testing.T) {
	f := New()
	f.Reply = func(req ChatRequest) Response {
		if _, ok := req.Tool("get_weather"); !ok {
			return Fail(400, "no tool")
		}
		return Call("get_weather", map[string]string{"city": "Tokyo"})
	}
	url := f.Start(t)
	resp := post(t, url+"/api/chat", `{"model":"llama3.2","stream":false,"messages":[{"role":"user","content":"weather?"}],
		"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]}`)
	objs := lines(t, resp.Body)
	if resp.StatusCode != 200 || len(objs) != 1 {
		t.Fatalf("status %d, %d objects", resp.StatusCode, len(objs))
	}
	o := objs[0]
	calls := o["message"].(map[string]any)["tool_calls"].([]any)
	fn := calls[0].(map[string]any)["function"].(map[string]any)
	if o["done"] != true || fn["name"] != "get_weather" || fn["arguments"].(map[string]any)["city"] != "Tokyo" {
		t.Errorf("answer %v", o)
	}
	tool, _ := f.Requests()[0].Tool("get_weather")
	if !strings.Contains(string(tool.Function.Parameters), `"city"`) {
		t.Errorf("recorded parameters %s", tool.Function.Parameters)
	}
}

func TestErrors(t *testing.T) {
	f := New("llama3.2")
	url := f.Start(t)

	resp := post(t, url+"/api/chat", `{"model":"nope","messages":[{"role":"user","content":"hi"}]}`)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 404 || strings.TrimSpace(string(body)) != `{"error":"model 'nope' not found"}` {
		t.Errorf("missing model: %d %s", resp.StatusCode, body)
	}

	f.SetReply(func(ChatRequest) Response {
		return Response{Text: "a b", Error: "an error was encountered while running the model"}
	})
	resp = post(t, url+"/api/chat", `{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}`)
	objs := lines(t, resp.Body)
	if resp.StatusCode != 200 || len(objs) != 3 || objs[2]["error"] != "an error was encountered while running the model" {
		t.Errorf("mid-stream error: %d %v", resp.StatusCode, objs)
	}

	resp = post(t, url+"/api/chat", `{"messages":[]}`)
	if resp.StatusCode != 400 {
		t.Errorf("no model: %d", resp.StatusCode)
	}
	if f.Calls() != 2 {
		t.Errorf("Calls() = %d, want 2 (requests without a model are not recorded)", f.Calls())
	}
}

func TestOtherEndpoints(t *testing.T) {
	f := New("qwen2.5:1.5b", "all-minilm")
	url := f.Start(t)

	resp, err := http.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "Ollama is running" {
		t.Errorf("GET / = %q", body)
	}
	if resp, err := http.Head(url + "/"); err != nil || resp.StatusCode != 200 {
		t.Errorf("HEAD / = %v, %v", resp, err)
	}

	resp, _ = http.Get(url + "/api/version")
	var version struct{ Version string }
	json.NewDecoder(resp.Body).Decode(&version)
	resp.Body.Close()
	if version.Version != DefaultVersion {
		t.Errorf("version %q", version.Version)
	}

	resp, _ = http.Get(url + "/api/tags")
	var tags struct {
		Models []struct{ Name, Model string }
	}
	json.NewDecoder(resp.Body).Decode(&tags)
	resp.Body.Close()
	if len(tags.Models) != 2 || tags.Models[0].Name != "qwen2.5:1.5b" || tags.Models[1].Name != "all-minilm:latest" {
		t.Errorf("tags %+v", tags)
	}

	resp = post(t, url+"/api/embed", `{"model":"all-minilm","input":["Why is the sky blue?","Why is the grass green?"]}`)
	var emb struct {
		Model      string
		Embeddings [][]float32
	}
	json.NewDecoder(resp.Body).Decode(&emb)
	if len(emb.Embeddings) != 2 || len(emb.Embeddings[0]) != DefaultEmbedDim {
		t.Errorf("embed %+v", emb)
	}
	resp = post(t, url+"/api/embed", `{"model":"all-minilm","input":"one"}`)
	json.NewDecoder(resp.Body).Decode(&emb)
	if len(emb.Embeddings) != 1 || len(f.Embeds()) != 2 || f.Embeds()[1].Inputs()[0] != "one" {
		t.Errorf("single input: %+v, recorded %+v", emb, f.Embeds())
	}
	if f.Hits("/api/tags") != 1 || f.Hits("/") != 2 {
		t.Errorf("hits: tags %d, root %d", f.Hits("/api/tags"), f.Hits("/"))
	}
}

func TestCloseDropsSlowAnswersAndRestarts(t *testing.T) {
	f := New()
	f.Reply = func(ChatRequest) Response { return Response{Text: "late", Delay: time.Minute} }
	url := f.Start(t)
	addr := strings.TrimPrefix(url, "http://")

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		resp, err := http.Post(url+"/api/chat", "application/json", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
		if err == nil {
			resp.Body.Close()
		}
	}()
	for f.Calls() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	f.Close()
	wg.Wait()
	if time.Since(start) > 5*time.Second || f.Canceled() != 1 || f.URL() != "" {
		t.Errorf("Close took %s, Canceled() = %d", time.Since(start), f.Canceled())
	}

	f.SetReply(nil)
	if again := f.StartAt(t, addr); again != url {
		t.Errorf("restarted on %s, want %s", again, url)
	}
	resp := post(t, url+"/api/chat", `{"model":"m","stream":false,"messages":[{"role":"user","content":"hi"}]}`)
	objs := lines(t, resp.Body)
	if len(objs) != 1 || objs[0]["message"].(map[string]any)["content"] != "You said: hi" {
		t.Errorf("after restart: %v", objs)
	}
}
