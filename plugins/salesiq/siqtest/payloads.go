package siqtest

import (
	"encoding/json"
	"fmt"
	"time"
)

// OrgID is the portal's org id in the built payloads.
const OrgID = "110002332534"

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func visitor(conversationID, visitorID, name string) map[string]any {
	return map[string]any{
		"id": visitorID, "name": name, "email": visitorID + "@example.com",
		"active_conversation_id": conversationID, "channel": "website", "language": "en",
	}
}

// ZobotMessage is a Zobot "message" handler call: the visitor wrote text.
func ZobotMessage(requestID, conversationID, visitorID, text string) []byte {
	return mustJSON(map[string]any{
		"handler": "message", "operation": "chat", "org_id": OrgID,
		"message":     map[string]any{"text": text},
		"visitor":     visitor(conversationID, visitorID, "Ann"),
		"request":     map[string]any{"id": requestID},
		"attachments": []any{},
	})
}

// ZobotTrigger is a Zobot "trigger" handler call (a visitor landed).
func ZobotTrigger(requestID, visitorID string) []byte {
	return mustJSON(map[string]any{
		"handler": "trigger", "org_id": OrgID,
		"visitor": visitor("", visitorID, "Ann"), "request": map[string]any{"id": requestID},
	})
}

// ZobotFailure is a Zobot "failure" handler call: code 1001 offline_hours,
// 1002 operators_not_available, 1003 invalid_operators, 1005
// more_than_max_length, 1007 execution_failure.
func ZobotFailure(requestID, conversationID, visitorID string, code int) []byte {
	desc := map[int]string{1001: "offline_hours", 1002: "operators_not_available", 1003: "invalid_operators",
		1005: "more_than_max_length", 1007: "execution_failure"}[code]
	return mustJSON(map[string]any{
		"handler": "failure", "org_id": OrgID,
		"visitor":         visitor(conversationID, visitorID, "Ann"),
		"cause":           map[string]any{"code": code, "desc": desc},
		"failed_response": map[string]any{"action": "forward"},
		"request":         map[string]any{"id": requestID},
	})
}

// DataEvent is a data-webhook execution of event for conversation entityID,
// shaped like the captured payloads (ids as strings, version and attempt as
// numbers, times as epoch-millisecond strings).
func DataEvent(event, entityID string, eventTime time.Time, entity map[string]any) []byte {
	if entity == nil {
		entity = map[string]any{}
	}
	entity["id"] = entityID
	entity["visitor_conversation_id"] = fmt.Sprintf("%064s", entityID)
	return mustJSON(map[string]any{
		"handler": "execution", "entity_type": "conversation", "webhook": map[string]any{"id": "11209000000002314"},
		"org_id": OrgID, "event": event, "entity_id": entityID, "attempt": 1, "version": 1, "app_id": AppID,
		"entity": entity, "event_time": fmt.Sprint(eventTime.UnixMilli()),
	})
}

// OperatorReplied is conversation.operator.replied; senderType is
// "operator" for a human, or another type ("bot", "visitor").
func OperatorReplied(entityID, msgID, senderType, name, text string) []byte {
	return DataEvent("conversation.operator.replied", entityID, time.UnixMilli(1769112930452), map[string]any{
		"message": map[string]any{
			"sender": map[string]any{"name": name, "id": "11209000000002002", "type": senderType},
			"meta":   map[string]any{}, "msgid": msgID, "text": text,
		},
	})
}

// AttenderUpdated is conversation.attender.updated: an operator picked up.
func AttenderUpdated(entityID, name string) []byte {
	return DataEvent("conversation.attender.updated", entityID, time.UnixMilli(1769112920000), map[string]any{
		"owner":       map[string]any{"email_id": "bob@example.com", "name": name, "id": "11209000000002002", "type": "operator"},
		"chat_status": map[string]any{"state_key": "connected", "status_code": 0, "state": 2, "status_key": "open"},
		"status":      "Connected",
	})
}

// Completed is conversation.completed, ended by the operator.
func Completed(entityID string) []byte {
	return DataEvent("conversation.completed", entityID, time.UnixMilli(1769112990000), map[string]any{
		"ended_by":    "agent",
		"owner":       map[string]any{"name": "Bob", "id": "11209000000002002", "type": "operator"},
		"chat_status": map[string]any{"state_key": "end", "status_code": 2, "state": 4, "status_key": "closed"},
	})
}

// Missed is conversation.missed.
func Missed(entityID string) []byte {
	return DataEvent("conversation.missed", entityID, time.UnixMilli(1769112999000), map[string]any{"status": "Missed"})
}
