package ollamatest

import (
	"encoding/json"
	"strings"
)

// The JSON shapes below follow Ollama's API documentation (docs/api.md),
// not any client library, so that tests check a client against the
// documented protocol.

// Message is one chat message, in a request or an answer.
type Message struct {
	// Role is "system", "user", "assistant" or "tool".
	Role string `json:"role"`
	// Content is the text of the message.
	Content string `json:"content"`
	// Thinking is a thinking model's reasoning.
	Thinking string `json:"thinking,omitempty"`
	// Images are base64-encoded images for multimodal models.
	Images []string `json:"images,omitempty"`
	// ToolCalls are the tools the assistant called.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolName names the tool whose result a "tool" message carries.
	ToolName string `json:"tool_name,omitempty"`
}

// ToolCall is the model calling a tool.
type ToolCall struct {
	// Function is the called function.
	Function ToolCallFunction `json:"function"`
}

// ToolCallFunction is the function of a [ToolCall].
type ToolCallFunction struct {
	// Name is the tool's name.
	Name string `json:"name"`
	// Arguments is the arguments object.
	Arguments json.RawMessage `json:"arguments"`
}

// Tool is a tool offered to the model.
type Tool struct {
	// Type is "function".
	Type string `json:"type"`
	// Function describes the function.
	Function ToolFunction `json:"function"`
}

// ToolFunction describes a function tool.
type ToolFunction struct {
	// Name is the tool's name.
	Name string `json:"name"`
	// Description tells the model what the tool does.
	Description string `json:"description,omitempty"`
	// Parameters is the JSON Schema of the arguments object.
	Parameters json.RawMessage `json:"parameters,omitempty"`
}

// ChatRequest is the body of POST /api/chat.
type ChatRequest struct {
	// Model is the model name (required).
	Model string `json:"model"`
	// Messages is the conversation so far.
	Messages []Message `json:"messages"`
	// Tools are the tools the model may call.
	Tools []Tool `json:"tools,omitempty"`
	// Format asks for "json" or a JSON schema.
	Format json.RawMessage `json:"format,omitempty"`
	// Options are model parameters such as temperature and num_ctx.
	Options map[string]any `json:"options,omitempty"`
	// Stream is false to get one answer object; absent means true.
	Stream *bool `json:"stream,omitempty"`
	// KeepAlive is how long the model stays loaded: a duration string such
	// as "5m" or a number of seconds, as sent.
	KeepAlive json.RawMessage `json:"keep_alive,omitempty"`
	// Think asks a thinking model to think (true, false, "high", …).
	Think json.RawMessage `json:"think,omitempty"`

	// Body is the request body exactly as received, for assertions on
	// fields this struct does not name.
	Body json.RawMessage `json:"-"`
}

// Streaming reports whether the request wants a stream (the default).
func (r ChatRequest) Streaming() bool { return r.Stream == nil || *r.Stream }

// LastUser returns the content of the last "user" message, or "".
func (r ChatRequest) LastUser() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i].Content
		}
	}
	return ""
}

// Tool returns the offered tool with the given name.
func (r ChatRequest) Tool(name string) (Tool, bool) {
	for _, t := range r.Tools {
		if t.Function.Name == name {
			return t, true
		}
	}
	return Tool{}, false
}

// Option returns options[key], or nil.
func (r ChatRequest) Option(key string) any { return r.Options[key] }

// KeepAliveString returns keep_alive as sent, unquoted if it was a string
// ("5m"), or as the number text ("300"); "" when absent.
func (r ChatRequest) KeepAliveString() string {
	var s string
	if json.Unmarshal(r.KeepAlive, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(r.KeepAlive))
}

// chatResponse is one object of a chat answer.
type chatResponse struct {
	Model              string  `json:"model"`
	CreatedAt          string  `json:"created_at"`
	Message            Message `json:"message"`
	Done               bool    `json:"done"`
	DoneReason         string  `json:"done_reason,omitempty"`
	TotalDuration      int64   `json:"total_duration,omitempty"`
	LoadDuration       int64   `json:"load_duration,omitempty"`
	PromptEvalCount    int     `json:"prompt_eval_count,omitempty"`
	PromptEvalDuration int64   `json:"prompt_eval_duration,omitempty"`
	EvalCount          int     `json:"eval_count,omitempty"`
	EvalDuration       int64   `json:"eval_duration,omitempty"`
}

// EmbedRequest is the body of POST /api/embed.
type EmbedRequest struct {
	// Model is the model name (required).
	Model string `json:"model"`
	// Input is a string or a list of strings, as sent; see Inputs.
	Input json.RawMessage `json:"input"`
	// Truncate cuts inputs that exceed the context (default true).
	Truncate *bool `json:"truncate,omitempty"`
	// Dimensions is the wanted vector size.
	Dimensions int `json:"dimensions,omitempty"`
	// Options are model parameters.
	Options map[string]any `json:"options,omitempty"`
	// KeepAlive is how long the model stays loaded, as sent.
	KeepAlive json.RawMessage `json:"keep_alive,omitempty"`

	// Body is the request body exactly as received.
	Body json.RawMessage `json:"-"`
}

// Inputs returns the texts to embed, whether input was one string or a
// list.
func (r EmbedRequest) Inputs() []string {
	var one string
	if json.Unmarshal(r.Input, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(r.Input, &many)
	return many
}

// embedResponse is the answer of POST /api/embed.
type embedResponse struct {
	Model           string      `json:"model"`
	Embeddings      [][]float32 `json:"embeddings"`
	TotalDuration   int64       `json:"total_duration,omitempty"`
	LoadDuration    int64       `json:"load_duration,omitempty"`
	PromptEvalCount int         `json:"prompt_eval_count,omitempty"`
}

// tagsResponse is the answer of GET /api/tags.
type tagsResponse struct {
	Models []tagsModel `json:"models"`
}

type tagsModel struct {
	Name       string       `json:"name"`
	Model      string       `json:"model"`
	ModifiedAt string       `json:"modified_at"`
	Size       int64        `json:"size"`
	Digest     string       `json:"digest"`
	Details    modelDetails `json:"details"`
}

type modelDetails struct {
	ParentModel       string   `json:"parent_model"`
	Format            string   `json:"format"`
	Family            string   `json:"family"`
	Families          []string `json:"families"`
	ParameterSize     string   `json:"parameter_size"`
	QuantizationLevel string   `json:"quantization_level"`
}

// errorResponse is an error answer: {"error": "…"}.
type errorResponse struct {
	Error string `json:"error"`
}
