package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/switchboard-chat/switchboard/sdk"
)

// This file holds the request and answer bodies of the Chat Completions
// API, and the conversions between them and the SDK's chat types.

// chatRequest is the body of POST /chat/completions.
type chatRequest struct {
	Model    string        `json:"model"`
	Messages []chatMessage `json:"messages"`
	Tools    []chatTool    `json:"tools,omitempty"`
	Stream   bool          `json:"stream"`
}

// chatMessage is one message of a request. Content is null only for an
// assistant message that carries nothing but tool calls.
type chatMessage struct {
	Role       string         `json:"role"`
	Content    *string        `json:"content"`
	ToolCalls  []chatToolCall `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
}

// chatToolCall is a complete tool call: in an assistant message of a
// request, or in an answer that was not streamed.
type chatToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function functionCall `json:"function"`
}

// functionCall is the function of a tool call; its arguments are a JSON
// object encoded as a string.
type functionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// chatTool is a function the model may call.
type chatTool struct {
	Type     string      `json:"type"`
	Function functionDef `json:"function"`
}

type functionDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters"`
}

// streamChunk is one event of a streamed answer: a chat.completion.chunk,
// or an error object that a server sends in its place when generation
// fails half-way.
type streamChunk struct {
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Content   string          `json:"content"`
			ToolCalls []toolCallDelta `json:"tool_calls"`
		} `json:"delta"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *tokenUsage     `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// toolCallDelta is a piece of a streamed tool call: the first piece has
// the id and name, later ones more of the arguments string. Index says
// which call of the answer the piece belongs to.
type toolCallDelta struct {
	Index    *int   `json:"index"`
	ID       string `json:"id"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// completion is an answer that was not streamed (a server that ignores
// "stream": true sends one).
type completion struct {
	Choices []struct {
		Index   int `json:"index"`
		Message struct {
			Content   *string        `json:"content"`
			ToolCalls []chatToolCall `json:"tool_calls"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *tokenUsage `json:"usage"`
}

type tokenUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// emptySchema is the parameters of a tool that declares none.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// chatRequest builds the request for one turn. Tool calls of earlier
// assistant messages get ids, and each tool result names the call it
// answers, as the API requires.
func (b *backend) chatRequest(req sdk.ChatRequest) (*chatRequest, error) {
	out := &chatRequest{Model: b.opts.Model, Messages: make([]chatMessage, 0, len(req.Messages)), Stream: true}
	var open []openCall // calls not answered yet, in order
	for i, m := range req.Messages {
		msg := chatMessage{Role: m.Role}
		if m.Content != "" || len(m.ToolCalls) == 0 {
			content := m.Content
			msg.Content = &content
		}
		for j, c := range m.ToolCalls {
			if m.Role != sdk.RoleAssistant {
				return nil, fmt.Errorf("message %d (%s): only assistant messages carry tool calls", i, m.Role)
			}
			args, err := argumentsString(c.Arguments)
			if err != nil {
				return nil, fmt.Errorf("message %d: tool call %q: %w", i, c.Name, err)
			}
			id := fmt.Sprintf("call_%d_%d", i, j)
			msg.ToolCalls = append(msg.ToolCalls, chatToolCall{ID: id, Type: "function", Function: functionCall{Name: c.Name, Arguments: args}})
			open = append(open, openCall{id: id, name: c.Name})
		}
		if m.Role == sdk.RoleTool {
			k := answeredCall(open, m.ToolName)
			if k < 0 {
				return nil, fmt.Errorf("message %d: a result of tool %q without an assistant call of it before", i, m.ToolName)
			}
			msg.ToolCallID = open[k].id
			open = append(open[:k], open[k+1:]...)
		}
		out.Messages = append(out.Messages, msg)
	}
	for _, t := range req.Tools {
		params, err := toolSchema(t.Parameters)
		if err != nil {
			return nil, fmt.Errorf("tool %q: %w", t.Name, err)
		}
		out.Tools = append(out.Tools, chatTool{Type: "function", Function: functionDef{Name: t.Name, Description: t.Description, Parameters: params}})
	}
	return out, nil
}

// openCall is a tool call of the conversation that no tool message has
// answered yet.
type openCall struct{ id, name string }

// answeredCall returns the index of the first open call a result of tool
// name answers (any call when name is empty), or -1.
func answeredCall(open []openCall, name string) int {
	for k, c := range open {
		if name == "" || c.name == name {
			return k
		}
	}
	return -1
}

// argumentsString encodes a tool call's arguments object as the string the
// API carries; none is {}.
func argumentsString(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "{}", nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", fmt.Errorf("arguments must be a JSON object: %w", err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "", fmt.Errorf("arguments must be a JSON object: %w", err)
	}
	return buf.String(), nil
}

// toolSchema checks that a tool's parameters are a JSON Schema object; none
// is an object without properties.
func toolSchema(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return emptySchema, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("parameters must be a JSON Schema object: %w", err)
	}
	return raw, nil
}

// partialCall is a tool call of the answer being streamed, its arguments
// still arriving.
type partialCall struct {
	index int
	id    string
	name  string
	args  strings.Builder
}

// toolCalls collects the tool calls of a streamed answer from their pieces.
type toolCalls struct {
	calls []*partialCall
}

// add joins one piece to its call. A piece without an index belongs to the
// call before it, or starts a new one when it has an id.
func (t *toolCalls) add(d toolCallDelta) {
	var c *partialCall
	switch {
	case d.Index != nil:
		for _, p := range t.calls {
			if p.index == *d.Index {
				c = p
				break
			}
		}
		if c == nil {
			c = &partialCall{index: *d.Index}
			t.calls = append(t.calls, c)
		}
	case len(t.calls) > 0 && (d.ID == "" || t.calls[len(t.calls)-1].id == d.ID):
		c = t.calls[len(t.calls)-1]
	default:
		c = &partialCall{index: len(t.calls)}
		t.calls = append(t.calls, c)
	}
	if d.ID != "" {
		c.id = d.ID
	}
	if d.Function.Name != "" {
		c.name = d.Function.Name
	}
	c.args.WriteString(d.Function.Arguments)
}

// done returns the complete calls.
func (t *toolCalls) done(log *slog.Logger) []sdk.ToolCall {
	out := make([]sdk.ToolCall, 0, len(t.calls))
	for _, c := range t.calls {
		call, err := completeCall(c.name, c.args.String())
		if err != nil {
			log.Warn("tool call from the model is malformed", "tool", c.name, "error", err.Error())
			if c.name == "" {
				continue
			}
		}
		out = append(out, call)
	}
	return out
}

var errNoToolName = errors.New("the call names no tool; it is dropped")

// completeCall turns a call's name and arguments string into an SDK tool
// call. Arguments that are not a JSON object (small models write broken
// JSON now and then) are replaced by {} with an error, so the call itself,
// such as a transfer to a human, still happens.
func completeCall(name, args string) (sdk.ToolCall, error) {
	if name == "" {
		return sdk.ToolCall{}, errNoToolName
	}
	raw := json.RawMessage(strings.TrimSpace(args))
	if len(raw) == 0 {
		return sdk.ToolCall{Name: name, Arguments: json.RawMessage("{}")}, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		if err == nil {
			err = errors.New("null")
		}
		return sdk.ToolCall{Name: name, Arguments: json.RawMessage("{}")},
			fmt.Errorf("arguments %q are not a JSON object, calling with {} instead: %w", truncate(args, 200), err)
	}
	return sdk.ToolCall{Name: name, Arguments: raw}, nil
}

// truncate shortens s to at most n bytes for a log line or message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
