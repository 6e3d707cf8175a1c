package sdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/switchboard-chat/switchboard/sdk/internal/pb"
)

// This file converts between the SDK's Go types and the wire messages.

func headerToPB(h http.Header) []*pb.Header {
	if len(h) == 0 {
		return nil
	}
	// One allocation for the headers and one for their values.
	out := make([]*pb.Header, 0, len(h))
	items := make([]pb.Header, len(h))
	values := make([]pb.HeaderValues, len(h))
	i := 0
	for k, v := range h {
		values[i].Values = v
		items[i].Name, items[i].Values = k, &values[i]
		out = append(out, &items[i])
		i++
	}
	return out
}

// headerFromPB reads headers; of a name given twice (which a peer that
// sent a map never does) the last counts, as in a map.
func headerFromPB(hs []*pb.Header) http.Header {
	h := make(http.Header, len(hs))
	for _, x := range hs {
		h[http.CanonicalHeaderKey(x.GetName())] = x.GetValues().GetValues()
	}
	return h
}

func timeToMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func timeFromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func userToPB(u User) *pb.User { return &pb.User{Id: u.ID, Name: u.Name} }

func userFromPB(u *pb.User) User { return User{ID: u.GetId(), Name: u.GetName()} }

func eventToPB(e Event) *pb.Event {
	out := &pb.Event{
		Id:           e.ID,
		Kind:         string(e.Kind),
		Conversation: e.Conversation,
		User:         userToPB(e.User),
		Text:         e.Text,
		TimeUnixMs:   timeToMillis(e.Time),
		Context:      e.Context,
	}
	for _, a := range e.Attachments {
		out.Attachments = append(out.Attachments, &pb.Attachment{
			Type: a.Type, Id: a.ID, Url: a.URL, Name: a.Name, MimeType: a.MIMEType, Size: a.Size,
		})
	}
	return out
}

func eventFromPB(e *pb.Event) Event {
	out := Event{
		ID:           e.GetId(),
		Kind:         EventKind(e.GetKind()),
		Conversation: e.GetConversation(),
		User:         userFromPB(e.GetUser()),
		Text:         e.GetText(),
		Time:         timeFromMillis(e.GetTimeUnixMs()),
		Context:      e.GetContext(),
	}
	for _, a := range e.GetAttachments() {
		out.Attachments = append(out.Attachments, Attachment{
			Type: a.GetType(), ID: a.GetId(), URL: a.GetUrl(), Name: a.GetName(), MIMEType: a.GetMimeType(), Size: a.GetSize(),
		})
	}
	return out
}

func eventsToPB(events []Event) []*pb.Event {
	out := make([]*pb.Event, len(events))
	for i, e := range events {
		out[i] = eventToPB(e)
	}
	return out
}

func eventsFromPB(events []*pb.Event) []Event {
	out := make([]Event, len(events))
	for i, e := range events {
		out[i] = eventFromPB(e)
	}
	return out
}

func outboundToPB(o Outbound) *pb.Outbound {
	return &pb.Outbound{
		Id:           o.ID,
		Kind:         string(o.Kind),
		Conversation: o.Conversation,
		User:         userToPB(o.User),
		Text:         o.Text,
		Role:         o.Role,
		Reason:       o.Reason,
		Department:   o.Department,
		Context:      o.Context,
		Choices:      choicesToPB(o.Choices),
	}
}

func choicesToPB(cs []Choice) []*pb.Choice {
	if len(cs) == 0 {
		return nil
	}
	out := make([]*pb.Choice, len(cs))
	for i, c := range cs {
		out[i] = &pb.Choice{Label: c.Label, Text: c.Text, Data: c.Data}
	}
	return out
}

func choicesFromPB(cs []*pb.Choice) []Choice {
	if len(cs) == 0 {
		return nil
	}
	out := make([]Choice, len(cs))
	for i, c := range cs {
		out[i] = Choice{Label: c.GetLabel(), Text: c.GetText(), Data: c.GetData()}
	}
	return out
}

func outboundFromPB(o *pb.Outbound) Outbound {
	return Outbound{
		ID:           o.GetId(),
		Kind:         OutboundKind(o.GetKind()),
		Conversation: o.GetConversation(),
		User:         userFromPB(o.GetUser()),
		Text:         o.GetText(),
		Role:         o.GetRole(),
		Reason:       o.GetReason(),
		Department:   o.GetDepartment(),
		Context:      o.GetContext(),
		Choices:      choicesFromPB(o.GetChoices()),
	}
}

func transcriptToPB(entries []TranscriptEntry) []*pb.TranscriptEntry {
	out := make([]*pb.TranscriptEntry, len(entries))
	for i, e := range entries {
		out[i] = &pb.TranscriptEntry{Role: e.Role, Text: e.Text, TimeUnixMs: timeToMillis(e.Time)}
	}
	return out
}

func transcriptFromPB(entries []*pb.TranscriptEntry) []TranscriptEntry {
	out := make([]TranscriptEntry, len(entries))
	for i, e := range entries {
		out[i] = TranscriptEntry{Role: e.GetRole(), Text: e.GetText(), Time: timeFromMillis(e.GetTimeUnixMs())}
	}
	return out
}

func idempotencyToPB(i Idempotency) *pb.Idempotency {
	return &pb.Idempotency{
		SendText: i.SendText, NativeHandoff: i.NativeHandoff,
		OpenHandoff: i.OpenHandoff, RelayToDesk: i.RelayToDesk, CloseHandoff: i.CloseHandoff,
	}
}

func idempotencyFromPB(i *pb.Idempotency) Idempotency {
	return Idempotency{
		SendText: i.GetSendText(), NativeHandoff: i.GetNativeHandoff(),
		OpenHandoff: i.GetOpenHandoff(), RelayToDesk: i.GetRelayToDesk(), CloseHandoff: i.GetCloseHandoff(),
	}
}

func toolCallsToPB(calls []ToolCall) []*pb.ToolCall {
	out := make([]*pb.ToolCall, len(calls))
	for i, c := range calls {
		out[i] = &pb.ToolCall{Name: c.Name, ArgumentsJson: c.Arguments}
	}
	return out
}

func toolCallsFromPB(calls []*pb.ToolCall) []ToolCall {
	if len(calls) == 0 {
		return nil
	}
	out := make([]ToolCall, len(calls))
	for i, c := range calls {
		out[i] = ToolCall{Name: c.GetName(), Arguments: json.RawMessage(c.GetArgumentsJson())}
	}
	return out
}

func chatRequestToPB(r ChatRequest) *pb.ChatRequest {
	out := &pb.ChatRequest{}
	for _, m := range r.Messages {
		out.Messages = append(out.Messages, &pb.ChatMessage{
			Role: m.Role, Content: m.Content, ToolCalls: toolCallsToPB(m.ToolCalls), ToolName: m.ToolName,
		})
	}
	for _, t := range r.Tools {
		out.Tools = append(out.Tools, &pb.Tool{Name: t.Name, Description: t.Description, ParametersJson: t.Parameters})
	}
	return out
}

func chatRequestFromPB(r *pb.ChatRequest) ChatRequest {
	var out ChatRequest
	for _, m := range r.GetMessages() {
		out.Messages = append(out.Messages, ChatMessage{
			Role: m.GetRole(), Content: m.GetContent(), ToolCalls: toolCallsFromPB(m.GetToolCalls()), ToolName: m.GetToolName(),
		})
	}
	for _, t := range r.GetTools() {
		out.Tools = append(out.Tools, Tool{Name: t.GetName(), Description: t.GetDescription(), Parameters: json.RawMessage(t.GetParametersJson())})
	}
	return out
}

// errorToStatus turns a plugin's error into a gRPC status carrying its kind.
func errorToStatus(err error) error {
	if err == nil {
		return nil
	}
	kind := KindOf(err)
	code := codes.Unavailable
	switch kind {
	case Permanent, Blocked:
		code = codes.FailedPrecondition
	case ModelMissing:
		code = codes.NotFound
	case Timeout, OutcomeUnknown:
		code = codes.DeadlineExceeded
	}
	st := status.New(code, err.Error())
	details := []protoadapt.MessageV1{&pb.ErrorDetail{
		Kind:         string(kind),
		RetryAfterMs: RetryAfterOf(err).Milliseconds(),
	}}
	if errors.Is(err, ErrPluginUnavailable) {
		details = append(details, &errdetails.ErrorInfo{Domain: errorDomain, Reason: reasonPluginUnavailable})
	}
	if withDetail, derr := st.WithDetails(details...); derr == nil {
		st = withDetail
	}
	return st.Err()
}

// ErrPluginUnavailable is returned by calls to a plugin process that is not
// running (it crashed, or the daemon is restarting it). It survives the
// gRPC hop: errors.Is finds it in an error that came back from a plugin.
var ErrPluginUnavailable = errors.New("plugin unavailable")

// ErrPluginFailed is wrapped, beside [ErrPluginUnavailable], by calls to a
// plugin the daemon gave up on (its restart budget is spent, or it
// rejected its options at start): it stays stopped until the daemon
// restarts, so retrying soon does not help.
var ErrPluginFailed = errors.New("plugin failed")

// ErrMessageTooLarge is returned by calls whose request or answer is larger
// than the plugin connection carries (see [MessageLimit]). Such an error is
// [Permanent].
var ErrMessageTooLarge = errors.New("message too large for the plugin connection")

// errorDomain and reasonPluginUnavailable mark, in a status's details (a
// google.rpc.ErrorInfo), an error that wraps ErrPluginUnavailable.
const (
	errorDomain             = "switchboard"
	reasonPluginUnavailable = "PLUGIN_UNAVAILABLE"
)

// unavailableError is an error that wrapped ErrPluginUnavailable on the
// other side of the wire, with its message as it was.
type unavailableError struct{ msg string }

func (e unavailableError) Error() string { return e.msg }
func (e unavailableError) Unwrap() error { return ErrPluginUnavailable }

// errorFromStatus turns a gRPC error from a plugin back into an [*Error].
// Errors without a kind are transport failures: the plugin process died or
// could not be reached.
func errorFromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return &Error{Kind: Temporary, Err: err}
	}
	var (
		detail      *pb.ErrorDetail
		unavailable bool
	)
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *pb.ErrorDetail:
			detail = d
		case *errdetails.ErrorInfo:
			unavailable = unavailable || (d.GetDomain() == errorDomain && d.GetReason() == reasonPluginUnavailable)
		}
	}
	if detail != nil {
		var inner error = errors.New(st.Message())
		if unavailable {
			inner = unavailableError{msg: st.Message()}
		}
		return &Error{
			Kind:       ErrorKind(detail.GetKind()),
			RetryAfter: time.Duration(detail.GetRetryAfterMs()) * time.Millisecond,
			Err:        inner,
		}
	}
	switch st.Code() {
	case codes.Unimplemented:
		// The plugin does not serve the service or call (built with an
		// SDK that lacks it): retrying cannot help.
		return &Error{Kind: Permanent, Err: errors.New(st.Message())}
	case codes.ResourceExhausted:
		// Without a detail this is gRPC's own message size limit: the
		// same message will never fit, so retrying cannot help.
		return &Error{Kind: Permanent, Err: fmt.Errorf("%w: %s", ErrMessageTooLarge, st.Message())}
	case codes.Canceled:
		return &Error{Kind: Temporary, Err: errors.New(st.Message())}
	case codes.DeadlineExceeded:
		return &Error{Kind: Timeout, Err: errors.New(st.Message())}
	case codes.Unavailable:
		// No detail: the plugin process itself could not be reached.
		return &Error{Kind: Temporary, Err: fmt.Errorf("%w: %s", ErrPluginUnavailable, st.Message())}
	}
	return &Error{Kind: Temporary, Err: errors.New(st.Message())}
}
