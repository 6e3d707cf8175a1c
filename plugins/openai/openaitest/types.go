package openaitest

import (
	"encoding/json"
	"strings"
)

// The JSON shapes below follow the OpenAI API reference (Chat Completions,
// Embeddings, Models, Error codes), not any client library, so that tests
// check a client against the documented protocol.

// Message is one message of a chat request.
type Message struct {
	// Role is "developer", "system", "user", "assistant" or "tool".
	Role string `json:"role"`
	// Content is a string, an array of content parts, or null (an
	// assistant message with tool calls), as sent; see Text.
	Content json.RawMessage `json:"content,omitempty"`
	// Name is an optional name of the participant.
	Name string `json:"name,omitempty"`
	// ToolCalls are the tools an assistant message called.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolCallID is, in a "tool" message, the id of the call it answers.
	ToolCallID string `json:"tool_call_id,omitempty"`
}

// Text returns the message's text: the string content, or the text parts
// of an array of content parts joined; "" for null or absent content.
func (m Message) Text() string {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(m.Content, &parts) != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// ToolCall is a complete tool call, in an assistant message of a request or
// in a non-streamed answer.
type ToolCall struct {
	// ID identifies the call; a "tool" message answers it by this id.
	ID string `json:"id"`
	// Type is "function".
	Type string `json:"type"`
	// Function is the called function.
	Function FunctionCall `json:"function"`
}

// FunctionCall is the function of a [ToolCall].
type FunctionCall struct {
	// Name is the function's name.
	Name string `json:"name"`
	// Arguments is the arguments object encoded as a JSON string, as the
	// model wrote it.
	Arguments string `json:"arguments"`
}

// Tool is a tool offered to the model.
type Tool struct {
	// Type is "function".
	Type string `json:"type"`
	// Function describes the function.
	Function FunctionDefinition `json:"function"`
}

// FunctionDefinition describes a function tool.
type FunctionDefinition struct {
	// Name is the function's name.
	Name string `json:"name"`
	// Description tells the model what the function does.
	Description string `json:"description,omitempty"`
	// Parameters is the JSON Schema of the arguments object.
	Parameters json.RawMessage `json:"parameters,omitempty"`
	// Strict asks for arguments that follow the schema exactly.
	Strict *bool `json:"strict,omitempty"`
}

// StreamOptions are the options of a streamed answer.
type StreamOptions struct {
	// IncludeUsage adds a last chunk, with empty choices, carrying the
	// token usage of the whole request.
	IncludeUsage bool `json:"include_usage"`
}

// ChatRequest is the body of POST /v1/chat/completions.
type ChatRequest struct {
	// Model is the model id (required).
	Model string `json:"model"`
	// Messages is the conversation so far (required, not empty).
	Messages []Message `json:"messages"`
	// Tools are the tools the model may call.
	Tools []Tool `json:"tools,omitempty"`
	// ToolChoice is "none", "auto", "required" or a named tool, as sent.
	ToolChoice json.RawMessage `json:"tool_choice,omitempty"`
	// Stream asks for server-sent events; absent means false.
	Stream *bool `json:"stream,omitempty"`
	// StreamOptions are the options of a streamed answer.
	StreamOptions *StreamOptions `json:"stream_options,omitempty"`
	// Temperature is the sampling temperature, 0 to 2.
	Temperature *float64 `json:"temperature,omitempty"`
	// MaxCompletionTokens bounds the answer's tokens.
	MaxCompletionTokens *int `json:"max_completion_tokens,omitempty"`
	// MaxTokens is the older name of MaxCompletionTokens.
	MaxTokens *int `json:"max_tokens,omitempty"`
	// N is the number of choices to generate; only 1 is supported here.
	N *int `json:"n,omitempty"`

	// Authorization is the request's Authorization header.
	Authorization string `json:"-"`
	// Body is the request body exactly as received, for assertions on
	// fields this struct does not name.
	Body json.RawMessage `json:"-"`
}

// Streaming reports whether the request asked for a stream.
func (r ChatRequest) Streaming() bool { return r.Stream != nil && *r.Stream }

// LastUser returns the text of the last "user" message, or "".
func (r ChatRequest) LastUser() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i].Text()
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

// chunk is one chat.completion.chunk object of a streamed answer.
type chunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"`
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	SystemFingerprint string        `json:"system_fingerprint"`
	Choices           []chunkChoice `json:"choices"`
	Usage             *usage        `json:"usage,omitempty"`
}

type chunkChoice struct {
	Index        int     `json:"index"`
	Delta        delta   `json:"delta"`
	Logprobs     *string `json:"logprobs"`
	FinishReason *string `json:"finish_reason"`
}

// delta is the change a chunk brings; absent fields are left out, as the
// API does.
type delta struct {
	Role      string          `json:"role,omitempty"`
	Content   *string         `json:"content,omitempty"`
	ToolCalls []toolCallDelta `json:"tool_calls,omitempty"`
}

// toolCallDelta is a piece of a streamed tool call: the first piece of a
// call has its id, type and name; the later ones only more of the
// arguments string.
type toolCallDelta struct {
	Index    int           `json:"index"`
	ID       string        `json:"id,omitempty"`
	Type     string        `json:"type,omitempty"`
	Function functionDelta `json:"function"`
}

type functionDelta struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// completion is a chat.completion object: a whole answer that was not
// streamed.
type completion struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	Created           int64              `json:"created"`
	Model             string             `json:"model"`
	SystemFingerprint string             `json:"system_fingerprint"`
	Choices           []completionChoice `json:"choices"`
	Usage             usage              `json:"usage"`
}

type completionChoice struct {
	Index        int               `json:"index"`
	Message      completionMessage `json:"message"`
	Logprobs     *string           `json:"logprobs"`
	FinishReason string            `json:"finish_reason"`
}

type completionMessage struct {
	Role      string     `json:"role"`
	Content   *string    `json:"content"`
	Refusal   *string    `json:"refusal"`
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens,omitempty"`
	TotalTokens      int `json:"total_tokens"`
}

// EmbeddingRequest is the body of POST /v1/embeddings.
type EmbeddingRequest struct {
	// Model is the model id (required).
	Model string `json:"model"`
	// Input is a string or an array of strings (or of token arrays), as
	// sent; see Inputs.
	Input json.RawMessage `json:"input"`
	// EncodingFormat is "float" (the default) or "base64".
	EncodingFormat string `json:"encoding_format,omitempty"`
	// Dimensions is the wanted vector size, for models that support it.
	Dimensions *int `json:"dimensions,omitempty"`
	// User identifies the end user.
	User string `json:"user,omitempty"`

	// Authorization is the request's Authorization header.
	Authorization string `json:"-"`
	// Body is the request body exactly as received.
	Body json.RawMessage `json:"-"`
}

// Inputs returns the texts to embed, whether input was one string or an
// array of strings; nil for token arrays.
func (r EmbeddingRequest) Inputs() []string {
	var one string
	if json.Unmarshal(r.Input, &one) == nil {
		return []string{one}
	}
	var many []string
	if json.Unmarshal(r.Input, &many) != nil {
		return nil
	}
	return many
}

type embeddingList struct {
	Object string      `json:"object"`
	Data   []embedding `json:"data"`
	Model  string      `json:"model"`
	Usage  usage       `json:"usage"`
}

// embedding is one vector: a list of numbers, or with encoding_format
// "base64" a string of little-endian float32s.
type embedding struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"`
}

type modelList struct {
	Object string  `json:"object"`
	Data   []model `json:"data"`
}

type model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// APIError is the error object of an error answer: the body is
// {"error": APIError}.
type APIError struct {
	// Message says what went wrong, for people.
	Message string `json:"message"`
	// Type is the error's class, such as "invalid_request_error".
	Type string `json:"type"`
	// Param names the request parameter at fault, or is null.
	Param *string `json:"param"`
	// Code is a machine-readable code such as "model_not_found" or
	// "invalid_api_key", or null.
	Code *string `json:"code"`
}

type errorBody struct {
	Error APIError `json:"error"`
}
