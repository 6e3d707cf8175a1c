package openaitest

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests check the fake against the documented wire format with plain
// HTTP, so that it can be trusted as a stand-in for an OpenAI-compatible
// server.

func post(t *testing.T, url, body string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// events reads a server-sent event stream: the data of each event, "[DONE]"
// included.
func events(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	var data []string
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if data != nil {
				out = append(out, strings.Join(data, "\n"))
			}
			data = nil
			continue
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok {
			data = append(data, v)
		} else {
			t.Errorf("unexpected line %q", line)
		}
	}
	if data != nil {
		t.Errorf("event without its blank line: %q", data)
	}
	return out
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%q is not a JSON object: %v", s, err)
	}
	return m
}

func body(t *testing.T, resp *http.Response) map[string]any {
	t.Helper()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, string(data))
}

// choice returns the only choice of a chunk.
func choice(t *testing.T, c map[string]any) map[string]any {
	t.Helper()
	choices, _ := c["choices"].([]any)
	if len(choices) != 1 {
		t.Fatalf("chunk %v has %d choices", c, len(choices))
	}
	return choices[0].(map[string]any)
}

func TestStreamedText(t *testing.T) {
	f := New("gpt-4o-mini")
	f.Reply = func(ChatRequest) Response { return Text("The sky is blue") }
	url := f.Start(t)
	if !strings.HasSuffix(url, "/v1") {
		t.Fatalf("base URL %s", url)
	}

	resp := post(t, url+"/chat/completions",
		`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"why is the sky blue?"}]}`)
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("status %d, content type %q", resp.StatusCode, ct)
	}
	evs := events(t, resp.Body)
	// The role, four words, the finish, [DONE].
	if len(evs) != 7 || evs[6] != "[DONE]" {
		t.Fatalf("events %q", evs)
	}
	var text strings.Builder
	id := ""
	for i, e := range evs[:6] {
		c := decode(t, e)
		if c["object"] != "chat.completion.chunk" || c["model"] != "gpt-4o-mini" || c["created"] == nil || c["id"] == "" {
			t.Errorf("chunk %d: %v", i, c)
		}
		if id == "" {
			id = c["id"].(string)
		} else if c["id"] != id {
			t.Errorf("chunk %d has id %v, the first %s", i, c["id"], id)
		}
		ch := choice(t, c)
		delta := ch["delta"].(map[string]any)
		if i == 0 && delta["role"] != "assistant" {
			t.Errorf("first delta %v", delta)
		}
		if i < 5 && ch["finish_reason"] != nil {
			t.Errorf("chunk %d finish_reason %v", i, ch["finish_reason"])
		}
		if s, ok := delta["content"].(string); ok {
			text.WriteString(s)
		}
	}
	if text.String() != "The sky is blue" {
		t.Errorf("text %q", text.String())
	}
	if last := choice(t, decode(t, evs[5])); last["finish_reason"] != "stop" || len(last["delta"].(map[string]any)) != 0 {
		t.Errorf("final chunk %v", last)
	}
	if got := f.Requests(); len(got) != 1 || got[0].LastUser() != "why is the sky blue?" || !got[0].Streaming() {
		t.Errorf("recorded %+v", got)
	}
}

func TestStreamedToolCallArgumentsComeInPieces(t *testing.T) {
	f := New()
	f.Reply = func(req ChatRequest) Response {
		if _, ok := req.Tool("get_weather"); !ok {
			return Fail(400, "invalid_request_error", "", "no tool")
		}
		r := Call("get_weather", map[string]string{"location": "Zürich"})
		r.ArgumentsPiece = 3
		return r
	}
	url := f.Start(t)
	resp := post(t, url+"/chat/completions", `{"model":"m","stream":true,"stream_options":{"include_usage":true},
		"messages":[{"role":"user","content":"weather?"}],
		"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"location":{"type":"string"}}}}}]}`)
	evs := events(t, resp.Body)
	if len(evs) < 5 || evs[len(evs)-1] != "[DONE]" {
		t.Fatalf("events %q", evs)
	}
	var args strings.Builder
	pieces := 0
	for i, e := range evs[1 : len(evs)-3] { // between the role and the finish
		calls := choice(t, decode(t, e))["delta"].(map[string]any)["tool_calls"].([]any)
		call := calls[0].(map[string]any)
		fn := call["function"].(map[string]any)
		if call["index"] != 0.0 {
			t.Errorf("index %v", call["index"])
		}
		if i == 0 {
			if !strings.HasPrefix(call["id"].(string), "call_") || call["type"] != "function" || fn["name"] != "get_weather" || fn["arguments"] != "" {
				t.Errorf("first piece %v", call)
			}
			continue
		}
		if call["id"] != nil || fn["name"] != nil {
			t.Errorf("later piece repeats the id or name: %v", call)
		}
		args.WriteString(fn["arguments"].(string))
		pieces++
	}
	if args.String() != `{"location":"Zürich"}` || pieces != 7 {
		t.Errorf("arguments %q in %d pieces", args.String(), pieces)
	}
	if fin := choice(t, decode(t, evs[len(evs)-3])); fin["finish_reason"] != "tool_calls" {
		t.Errorf("finish %v", fin)
	}
	u := decode(t, evs[len(evs)-2])
	if choices := u["choices"].([]any); len(choices) != 0 || u["usage"].(map[string]any)["total_tokens"] == nil {
		t.Errorf("usage chunk %v", u)
	}
}

func TestUnstreamedAnswer(t *testing.T) {
	f := New()
	f.Reply = func(ChatRequest) Response { return Call("transfer_to_human", map[string]string{"reason": "refund"}) }
	url := f.Start(t)
	resp := post(t, url+"/chat/completions", `{"model":"m","messages":[{"role":"user","content":"refund"}]}`)
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "application/json" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, ct)
	}
	c := body(t, resp)
	ch := choice(t, c)
	msg := ch["message"].(map[string]any)
	call := msg["tool_calls"].([]any)[0].(map[string]any)
	if c["object"] != "chat.completion" || ch["finish_reason"] != "tool_calls" || msg["content"] != nil ||
		call["function"].(map[string]any)["arguments"] != `{"reason":"refund"}` {
		t.Errorf("answer %v", c)
	}
}

func TestErrors(t *testing.T) {
	f := New("gpt-4o-mini")
	url := f.Start(t)
	tests := []struct {
		name   string
		reply  Response
		body   string
		status int
		error  string // the error object, as JSON
		header string // Retry-After
	}{
		{name: "missing model", body: `{"model":"nope","stream":true,"messages":[{"role":"user","content":"hi"}]}`, status: 404,
			error: `{"message":"The model ` + "`nope`" + ` does not exist or you do not have access to it.","type":"invalid_request_error","param":"model","code":"model_not_found"}`},
		{name: "rate limited", reply: RateLimited("7"), status: 429, header: "7",
			error: `{"message":"Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.","type":"requests","param":null,"code":"rate_limit_exceeded"}`},
		{name: "server error", reply: ServerError(503, "The engine is currently overloaded, please try again later."), status: 503,
			error: `{"message":"The engine is currently overloaded, please try again later.","type":"server_error","param":null,"code":null}`},
		{name: "not JSON", body: `{"model":`, status: 400},
		{name: "no messages", body: `{"model":"gpt-4o-mini","messages":[]}`, status: 400},
		{name: "tool message without a call", status: 400,
			body: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"call_1","content":"ok"}]}`},
		{name: "call without its answer", status: 400,
			body: `{"model":"gpt-4o-mini","messages":[{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"user","content":"hi"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.SetReply(func(ChatRequest) Response { return tt.reply })
			b := tt.body
			if b == "" {
				b = `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`
			}
			resp := post(t, url+"/chat/completions", b)
			got := body(t, resp)
			if resp.StatusCode != tt.status || resp.Header.Get("Retry-After") != tt.header {
				t.Errorf("status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
			}
			e, ok := got["error"].(map[string]any)
			if !ok || len(got) != 1 || e["message"] == "" {
				t.Fatalf("body %v", got)
			}
			for _, k := range []string{"message", "type", "param", "code"} {
				if _, ok := e[k]; !ok {
					t.Errorf("error object lacks %q: %v", k, e)
				}
			}
			if tt.error != "" && !reflect.DeepEqual(e, decode(t, tt.error)) {
				t.Errorf("error %v, want %s", e, tt.error)
			}
		})
	}
}

func TestErrorInTheStream(t *testing.T) {
	f := New()
	f.Reply = func(ChatRequest) Response {
		return Response{Text: "a b", Error: APIError{Message: "the model crashed", Type: "server_error"}}
	}
	url := f.Start(t)
	resp := post(t, url+"/chat/completions", `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	evs := events(t, resp.Body)
	if resp.StatusCode != 200 || len(evs) != 4 || decode(t, evs[3])["error"].(map[string]any)["message"] != "the model crashed" {
		t.Errorf("status %d, events %q", resp.StatusCode, evs)
	}
}

func TestAPIKey(t *testing.T) {
	f := New("m")
	f.APIKey = "sk-test-1234567890"
	url := f.Start(t)
	chat := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	for name, tc := range map[string]struct {
		header []string
		status int
		code   any
	}{
		"none":  {nil, 401, nil},
		"wrong": {[]string{"Authorization", "Bearer sk-wrong-0000000000"}, 401, "invalid_api_key"},
		"right": {[]string{"Authorization", "Bearer sk-test-1234567890"}, 200, nil},
	} {
		resp := post(t, url+"/chat/completions", chat, tc.header...)
		b := body(t, resp)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d: %v", name, resp.StatusCode, b)
		}
		if tc.status == 401 {
			e := b["error"].(map[string]any)
			if e["code"] != tc.code || strings.Contains(e["message"].(string), "0000000000") {
				t.Errorf("%s: error %v", name, e)
			}
		}
	}
	req, _ := http.NewRequest(http.MethodGet, url+"/models", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("GET /models without a key: %d", resp.StatusCode)
	}
	if got := f.Requests(); len(got) != 1 || got[0].Authorization != "Bearer sk-test-1234567890" {
		t.Errorf("recorded %+v", got)
	}
}

func TestModelsAndEmbeddings(t *testing.T) {
	f := New("qwen2.5-7b-instruct", "text-embedding-nomic-embed-text-v1.5")
	url := f.Start(t)

	resp, err := http.Get(url + "/models")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Object string
		Data   []struct{ ID, Object, OwnedBy string }
	}
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if list.Object != "list" || len(list.Data) != 2 || list.Data[0].ID != "qwen2.5-7b-instruct" || list.Data[1].Object != "model" {
		t.Errorf("models %+v", list)
	}
	resp, _ = http.Get(url + "/models/nope")
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("GET /models/nope: %d", resp.StatusCode)
	}

	emb := body(t, post(t, url+"/embeddings", `{"model":"text-embedding-nomic-embed-text-v1.5","input":["Why is the sky blue?","Why is the grass green?"]}`))
	data := emb["data"].([]any)
	if emb["object"] != "list" || len(data) != 2 || emb["usage"].(map[string]any)["prompt_tokens"] != 10.0 {
		t.Fatalf("embeddings %v", emb)
	}
	for i, d := range data {
		d := d.(map[string]any)
		if d["object"] != "embedding" || d["index"] != float64(i) || len(d["embedding"].([]any)) != DefaultEmbedDim {
			t.Errorf("item %d: %v", i, d)
		}
	}

	b64 := body(t, post(t, url+"/embeddings", `{"model":"text-embedding-nomic-embed-text-v1.5","input":"one","encoding_format":"base64"}`))
	raw, err := base64.StdEncoding.DecodeString(b64["data"].([]any)[0].(map[string]any)["embedding"].(string))
	if err != nil || len(raw) != 4*DefaultEmbedDim {
		t.Fatalf("base64 vector: %d bytes, %v", len(raw), err)
	}
	if x := math.Float32frombits(binary.LittleEndian.Uint32(raw)); x != defaultEmbedding("one")[0] {
		t.Errorf("first number %v, want %v", x, defaultEmbedding("one")[0])
	}

	if resp := post(t, url+"/embeddings", `{"model":"nope","input":"one"}`); resp.StatusCode != 404 {
		t.Errorf("embeddings for a missing model: %d", resp.StatusCode)
	}
	if len(f.Embeds()) != 3 || f.Embeds()[1].Inputs()[0] != "one" {
		t.Errorf("recorded %+v", f.Embeds())
	}

	resp = post(t, strings.TrimSuffix(url, "/v1")+"/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	if e := body(t, resp); resp.StatusCode != 404 || !strings.Contains(e["error"].(map[string]any)["message"].(string), "Invalid URL") {
		t.Errorf("outside /v1: %d %v", resp.StatusCode, e)
	}
	if f.Hits("/v1/models") != 1 || f.Hits("/v1/embeddings") != 3 {
		t.Errorf("hits: models %d, embeddings %d", f.Hits("/v1/models"), f.Hits("/v1/embeddings"))
	}
}

func TestCloseDropsSlowAnswersAndRestarts(t *testing.T) {
	f := New()
	f.Reply = func(ChatRequest) Response { return Response{Text: "late", Delay: time.Minute} }
	url := f.Start(t)
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/v1")

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		resp, err := http.Post(url+"/chat/completions", "application/json", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
		if err == nil {
			resp.Body.Close()
		}
	}()
	for f.Calls() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	f.Close()
	wg.Wait()
	if f.Canceled() != 1 || f.URL() != "" {
		t.Errorf("Canceled() = %d, URL() = %q", f.Canceled(), f.URL())
	}

	f.SetReply(nil)
	if again := f.StartAt(t, addr); again != url {
		t.Errorf("restarted on %s, want %s", again, url)
	}
	c := body(t, post(t, url+"/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	if msg := choice(t, c)["message"].(map[string]any); msg["content"] != "You said: hi" {
		t.Errorf("after restart: %v", c)
	}
}
