package sdk

import (
	"context"
	"encoding/json"
)

// LLM is a language-model backend.
type LLM interface {
	// Configure validates the options and prepares the backend.
	Configure(ctx context.Context, req ConfigureRequest) (LLMInfo, error)

	// Chat runs one model turn and streams its output to stream as it
	// arrives. Errors are [*Error]s of kind ModelMissing, Unavailable or
	// Timeout where they apply.
	Chat(ctx context.Context, req ChatRequest, stream ChatStream) error

	// Embed returns one vector per text.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// LLMInfo describes a configured backend.
type LLMInfo struct {
	// Model is the model the backend will use.
	Model string
}

// Chat roles.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// ChatMessage is one message of the conversation sent to the model.
type ChatMessage struct {
	Role      string
	Content   string
	ToolCalls []ToolCall
	// ToolName names the tool whose result a RoleTool message carries.
	ToolName string
}

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the arguments object.
	Parameters json.RawMessage
}

// ToolCall is the model calling a tool.
type ToolCall struct {
	Name      string
	Arguments json.RawMessage
}

// ChatRequest is one model turn.
type ChatRequest struct {
	Messages []ChatMessage
	Tools    []Tool
}

// ChatChunk is a piece of the model's streamed answer.
type ChatChunk struct {
	// Text is the next piece of the answer.
	Text string
	// ToolCalls are the tool calls in this piece.
	ToolCalls []ToolCall
	// Done marks the last chunk.
	Done bool
}

// ChatStream receives a turn's chunks in order.
type ChatStream interface {
	Send(chunk ChatChunk) error
}

// ChatStreamFunc adapts a function to [ChatStream].
type ChatStreamFunc func(ChatChunk) error

// Send calls f.
func (f ChatStreamFunc) Send(c ChatChunk) error { return f(c) }
