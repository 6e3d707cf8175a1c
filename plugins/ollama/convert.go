package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/ollama/ollama/api"

	"github.com/switchboard-chat/switchboard/sdk"
)

// This file converts between the SDK's chat types and Ollama's.

// chatTurn is one turn's /api/chat request: everything but the tools, and
// the tools already encoded. The daemon sends the same few tools on every
// turn, so the cache encodes each once rather than once per turn.
type chatTurn struct {
	req   *api.ChatRequest
	tools []json.RawMessage
}

// body encodes the request with its tools.
func (t chatTurn) body() ([]byte, error) {
	body, err := json.Marshal(t.req)
	if err != nil || len(t.tools) == 0 {
		return body, err
	}
	if len(t.req.Tools) > 0 || len(body) < 2 || body[len(body)-1] != '}' {
		return nil, fmt.Errorf("chat request encoded as %.20q, cannot add tools", body)
	}
	body = body[:len(body)-1]
	if len(body) > 1 {
		body = append(body, ',')
	}
	body = append(body, `"tools":[`...)
	for i, tool := range t.tools {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, tool...)
	}
	return append(body, "]}"...), nil
}

// chatRequest builds the /api/chat request for one turn.
func (b *backend) chatRequest(req sdk.ChatRequest) (chatTurn, error) {
	stream := true
	out := &api.ChatRequest{
		Model:    b.opts.Model,
		Messages: make([]api.Message, 0, len(req.Messages)),
		Stream:   &stream,
		Options:  b.modelOptions(),
	}
	if b.opts.KeepAlive != nil {
		out.KeepAlive = &api.Duration{Duration: *b.opts.KeepAlive}
	}
	for i, m := range req.Messages {
		msg, err := messageToAPI(m)
		if err != nil {
			return chatTurn{}, fmt.Errorf("message %d (%s): %w", i, m.Role, err)
		}
		out.Messages = append(out.Messages, msg)
	}
	turn := chatTurn{req: out}
	for _, t := range req.Tools {
		tool, err := b.tools.convert(t)
		if err != nil {
			return chatTurn{}, fmt.Errorf("tool %q: %w", t.Name, err)
		}
		turn.tools = append(turn.tools, tool)
	}
	return turn, nil
}

// modelOptions are the "options" of a request: the sampling settings from
// the config, or nil to leave the model's own.
func (b *backend) modelOptions() map[string]any {
	opts := map[string]any{}
	if b.opts.Temperature != nil {
		opts["temperature"] = *b.opts.Temperature
	}
	if b.opts.NumCtx != nil {
		opts["num_ctx"] = *b.opts.NumCtx
	}
	if len(opts) == 0 {
		return nil
	}
	return opts
}

// messageToAPI converts one message, with its tool calls or tool name.
func messageToAPI(m sdk.ChatMessage) (api.Message, error) {
	out := api.Message{Role: m.Role, Content: m.Content, ToolName: m.ToolName}
	for i, c := range m.ToolCalls {
		args := api.NewToolCallFunctionArguments()
		if raw := bytes.TrimSpace(c.Arguments); len(raw) > 0 && string(raw) != "null" {
			if err := json.Unmarshal(raw, &args); err != nil {
				return api.Message{}, fmt.Errorf("tool call %q: arguments must be a JSON object: %w", c.Name, err)
			}
		}
		out.ToolCalls = append(out.ToolCalls, api.ToolCall{
			Function: api.ToolCallFunction{Index: i, Name: c.Name, Arguments: args},
		})
	}
	return out, nil
}

// toolCacheSize bounds the converted tools a backend keeps.
const toolCacheSize = 64

// toolCache keeps tools converted by toolToAPI and encoded as JSON, by
// their name, description and parameters. The encoded tools are only read
// (copied into requests) once made.
type toolCache struct {
	mu    sync.Mutex
	tools map[string]json.RawMessage
}

// convert is toolToAPI, encoded, through the cache.
func (c *toolCache) convert(t sdk.Tool) (json.RawMessage, error) {
	key := t.Name + "\x00" + t.Description + "\x00" + string(t.Parameters)
	c.mu.Lock()
	tool, ok := c.tools[key]
	c.mu.Unlock()
	if ok {
		return tool, nil
	}
	converted, err := toolToAPI(t)
	if err != nil {
		return nil, err
	}
	tool, err = json.Marshal(converted)
	if err != nil {
		return nil, fmt.Errorf("encode the tool: %w", err)
	}
	c.mu.Lock()
	if c.tools == nil {
		c.tools = map[string]json.RawMessage{}
	}
	if len(c.tools) < toolCacheSize {
		c.tools[key] = tool
	}
	c.mu.Unlock()
	return tool, nil
}

// toolToAPI converts a tool to Ollama's function tool. Ollama's schema type
// keeps the keywords its models use (type, properties, required, items,
// enum, anyOf, description, $defs); others are dropped.
func toolToAPI(t sdk.Tool) (api.Tool, error) {
	params := api.ToolFunctionParameters{Type: "object", Properties: api.NewToolPropertiesMap()}
	if raw := bytes.TrimSpace(t.Parameters); len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &params); err != nil {
			return api.Tool{}, fmt.Errorf("parameters must be a JSON Schema object: %w", err)
		}
		if params.Type == "" {
			params.Type = "object"
		}
		if params.Properties == nil {
			params.Properties = api.NewToolPropertiesMap()
		}
	}
	return api.Tool{
		Type: "function",
		Function: api.ToolFunction{
			Name:        t.Name,
			Description: t.Description,
			Parameters:  params,
		},
	}, nil
}

// toolCallsFromAPI converts the tool calls of an answer; arguments become a
// JSON object.
func toolCallsFromAPI(calls []api.ToolCall) ([]sdk.ToolCall, error) {
	if len(calls) == 0 {
		return nil, nil
	}
	out := make([]sdk.ToolCall, len(calls))
	for i, c := range calls {
		args, err := json.Marshal(c.Function.Arguments)
		if err != nil {
			return nil, fmt.Errorf("encode arguments of tool call %q: %w", c.Function.Name, err)
		}
		out[i] = sdk.ToolCall{Name: c.Function.Name, Arguments: args}
	}
	return out, nil
}
