package events

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// payloads has a zero value of every payload type; a new event type adds
// its own.
var payloads = []Payload{
	ConversationCreated{}, ConversationStateChanged{}, ConversationAssigned{}, MessageCreated{}, HandoffRequested{}, HandoffServiceLevelBreached{},
	CSATSubmitted{}, KBUnanswered{},
	TicketCreated{}, TicketUpdated{},
}

func TestEveryTypeHasOnePayloadWithoutSubjectFields(t *testing.T) {
	var seen []Type
	for _, p := range payloads {
		typ := p.EventType()
		if !typ.Valid() || slices.Contains(seen, typ) {
			t.Errorf("%T: type %q unknown or taken twice", p, typ)
		}
		seen = append(seen, typ)
		rt := reflect.TypeOf(p)
		for i := range rt.NumField() {
			name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			if name == "conversation_id" || name == "conversation_seq" || name == "channel" {
				t.Errorf("%T has a field named %s, which every event's data already has", p, name)
			}
		}
	}
	if len(seen) != len(Types) {
		t.Errorf("%d payload types for %d event types", len(seen), len(Types))
	}
	for _, typ := range Types {
		for _, part := range strings.Split(string(typ), ".") {
			if part == "" || strings.Trim(part, "abcdefghijklmnopqrstuvwxyz_") != "" {
				t.Errorf("type %q: want full-stop delimited [a-z_] names", typ)
			}
		}
	}
}

func TestDataPutsTheSubjectBeforeThePayload(t *testing.T) {
	at := time.Date(2025, 3, 1, 9, 0, 0, 123456789, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		name string
		ev   Event
		want string
	}{
		{"payload", Event{ConversationID: "c_1", ConversationSeq: 7, Channel: "tg", Payload: json.RawMessage(`{"role":"bot"}`)},
			`{"conversation_id":"c_1","conversation_seq":7,"channel":"tg","role":"bot"}`},
		{"empty payload", Event{ConversationID: "c_1", ConversationSeq: 1, Channel: "api", Payload: json.RawMessage(`{}`)},
			`{"conversation_id":"c_1","conversation_seq":1,"channel":"api"}`},
		{"no conversation", Event{Payload: json.RawMessage(`{"a":1}`)}, `{"a":1}`},
		{"quotes", Event{ConversationID: `c"1`, ConversationSeq: 1, Payload: json.RawMessage(`{}`)},
			`{"conversation_id":"c\"1","conversation_seq":1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(tc.ev.Data()); got != tc.want {
				t.Fatalf("data %s, want %s", got, tc.want)
			}
			if !json.Valid(tc.ev.Data()) {
				t.Fatal("not JSON")
			}
		})
	}
	ev := Event{Type: TypeMessageCreated, Time: at, ConversationID: "c_1", ConversationSeq: 2, Channel: "tg", Payload: json.RawMessage(`{"text":"hi"}`)}
	body, err := ev.Body()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"message.created","timestamp":"2025-03-01T08:00:00.123456789Z","data":{"conversation_id":"c_1","conversation_seq":2,"channel":"tg","text":"hi"}}`
	if string(body) != want {
		t.Fatalf("body %s\nwant %s", body, want)
	}
}
