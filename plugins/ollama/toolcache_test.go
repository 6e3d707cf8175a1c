package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/switchboard-chat/switchboard/sdk"
)

func TestToolCacheConvertsLikeToolToAPI(t *testing.T) {
	var c toolCache
	tools := []sdk.Tool{
		{Name: "handoff", Description: "hand over", Parameters: json.RawMessage(`{"type":"object","properties":{"reason":{"type":"string"}}}`)},
		{Name: "handoff", Description: "hand over to a person", Parameters: json.RawMessage(`{"type":"object","properties":{"reason":{"type":"string"}}}`)},
		{Name: "handoff", Description: "hand over", Parameters: json.RawMessage(`{"type":"object","properties":{"why":{"type":"string"}}}`)},
		{Name: "plain"},
	}
	for round := range 2 {
		for _, tool := range tools {
			got, err := c.convert(tool)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := toolToAPI(tool)
			g := got
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Errorf("round %d, %s/%s: got %s, want %s", round, tool.Name, tool.Description, g, w)
			}
		}
	}
	if _, err := c.convert(sdk.Tool{Name: "bad", Parameters: json.RawMessage(`[1]`)}); err == nil {
		t.Error("bad parameters converted")
	}
	for i := range 2 * toolCacheSize {
		if _, err := c.convert(sdk.Tool{Name: fmt.Sprint("t", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.tools) > toolCacheSize {
		t.Errorf("%d tools kept, at most %d", len(c.tools), toolCacheSize)
	}
}

func TestChatTurnBodyMatchesTheWholeRequestEncoded(t *testing.T) {
	stream := false
	handoff := sdk.Tool{Name: "handoff", Description: "hand over <now> & then", Parameters: json.RawMessage(`{"type":"object","properties":{"reason":{"type":"string"}},"required":["reason"]}`)}
	plain := sdk.Tool{Name: "plain"}
	tests := []struct {
		name  string
		req   api.ChatRequest
		tools []sdk.Tool
	}{
		{"no tools", api.ChatRequest{Model: "m", Messages: []api.Message{{Role: "user", Content: "hi"}}}, nil},
		{"one tool", api.ChatRequest{Model: "m", Messages: []api.Message{{Role: "user", Content: "hi"}}, Stream: &stream}, []sdk.Tool{handoff}},
		{"two tools", api.ChatRequest{Model: "m", Options: map[string]any{"temperature": 0.3}}, []sdk.Tool{handoff, plain}},
		{"only tools", api.ChatRequest{}, []sdk.Tool{plain}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c toolCache
			turn := chatTurn{req: &tt.req}
			whole := tt.req
			for _, tool := range tt.tools {
				enc, err := c.convert(tool)
				if err != nil {
					t.Fatal(err)
				}
				turn.tools = append(turn.tools, enc)
				converted, err := toolToAPI(tool)
				if err != nil {
					t.Fatal(err)
				}
				whole.Tools = append(whole.Tools, converted)
			}
			got, err := turn.body()
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(whole)
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("body %s: %v", got, err)
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("body %s, want %s", got, want)
			}
		})
	}
}
