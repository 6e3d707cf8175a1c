package sse

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestStreamFormat(t *testing.T) {
	rec := httptest.NewRecorder()
	s, err := Start(rec, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send("7", "message", map[string]string{"text": "two\nlines"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Send("", "typing", true); err != nil {
		t.Fatal(err)
	}
	// Encoded once: written as it is; with line breaks: compacted.
	if err := s.Send("8", "message", json.RawMessage(`{"text":"once"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Send("9", "", json.RawMessage("{\n  \"a\": 1\n}")); err != nil {
		t.Fatal(err)
	}
	if err := s.Send("10", "", json.RawMessage("{\"a\":\n")); err == nil {
		t.Error("a broken raw message with a line break was not refused")
	}
	if err := s.Comment("ping"); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "retry: 3000\n\n" +
		"id: 7\nevent: message\ndata: {\"text\":\"two\\nlines\"}\n\n" +
		"event: typing\ndata: true\n\n" +
		"id: 8\nevent: message\ndata: {\"text\":\"once\"}\n\n" +
		"id: 9\ndata: {\"a\":1}\n\n" +
		": ping\n\n"
	if got := rec.Body.String(); got != want {
		t.Errorf("stream:\n%q\nwant\n%q", got, want)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/event-stream; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	if err := s.Send("1\n2", "x", 1); err == nil {
		t.Error("an id with a line break was accepted")
	}
}

func TestLastEventID(t *testing.T) {
	tests := []struct {
		header, query string
		id            uint64
		ok, err       bool
	}{
		{"", "", 0, false, false},
		{"42", "", 42, true, false},
		{"", "9", 9, true, false},
		{"5", "9", 5, true, false}, // the browser's header wins
		{"18446744073709551615", "", 18446744073709551615, true, false},
		{"18446744073709551616", "", 0, false, true},
		{"abc", "", 0, false, true},
		{"-1", "", 0, false, true},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/events?after="+tt.query, nil)
		if tt.header != "" {
			r.Header.Set("Last-Event-ID", tt.header)
		}
		id, ok, err := LastEventID(r, "after")
		if id != tt.id || ok != tt.ok || (err != nil) != tt.err {
			t.Errorf("header %q query %q: %d %v %v", tt.header, tt.query, id, ok, err)
		}
	}
}

func TestCheckpointMovesTheLastEventIDWithoutAnEvent(t *testing.T) {
	rec := httptest.NewRecorder()
	s, err := Start(rec, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Checkpoint("41"); err != nil {
		t.Fatal(err)
	}
	s.Flush()
	if got := rec.Body.String(); got != "id: 41\n\n" {
		t.Errorf("stream %q", got)
	}
	for _, bad := range []string{"", "4\n1"} {
		if err := s.Checkpoint(bad); err == nil {
			t.Errorf("checkpoint %q accepted", bad)
		}
	}
}
