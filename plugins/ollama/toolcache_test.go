package main

import (
	"encoding/json"
	"fmt"
	"testing"

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
			g, _ := json.Marshal(got)
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
