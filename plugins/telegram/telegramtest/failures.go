package telegramtest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Failure scripts how the fake fails a request instead of answering it.
type Failure struct {
	// Status, when set, is answered as Telegram does:
	// {"ok":false,"error_code":Status,"description":Description,…}.
	Status int
	// Description is the error's description; a default fits the status.
	Description string
	// RetryAfter, for a 429, is parameters.retry_after in seconds and the
	// Retry-After header, as the Bot API server sends both.
	RetryAfter int
	// NoRetryAfterHeader leaves the Retry-After header out of a 429.
	NoRetryAfterHeader bool
	// MigrateToChatID, for a 400, is parameters.migrate_to_chat_id (a group
	// upgraded to a supergroup).
	MigrateToChatID int64
	// Drop closes the connection before the request is carried out:
	// nothing is delivered and the client gets no answer.
	Drop bool
	// DropAfterAccept carries the request out (a message is sent), then
	// closes the connection without an answer.
	DropAfterAccept bool
	// Delay is a wait before the request is handled.
	Delay time.Duration
}

// Common failures, with the descriptions the Bot API server uses.
var (
	// TooManyRequests is a flood-control 429 asking to wait 2 seconds.
	TooManyRequests = Failure{Status: http.StatusTooManyRequests, RetryAfter: 2}
	// BlockedByUser is the 403 for a user who blocked the bot.
	BlockedByUser = Failure{Status: http.StatusForbidden, Description: "Forbidden: bot was blocked by the user"}
	// ChatNotFound is a 400.
	ChatNotFound = Failure{Status: http.StatusBadRequest, Description: "Bad Request: chat not found"}
	// InternalError is a 500.
	InternalError = Failure{Status: http.StatusInternalServerError, Description: "Internal Server Error"}
	// BadGateway is a 502, as a proxy in front of the Bot API answers.
	BadGateway = Failure{Status: http.StatusBadGateway, Description: "Bad Gateway"}
	// Dropped is a connection closed before the request was carried out.
	Dropped = Failure{Drop: true}
	// AcceptedThenDropped is a connection closed after the request was
	// carried out.
	AcceptedThenDropped = Failure{DropAfterAccept: true}
)

// scripted is a failure waiting for matching calls.
type scripted struct {
	method string // lower case; "" for any
	left   int
	fail   Failure
}

// FailNext makes the next k calls of method (e.g. [MethodSendMessage]; ""
// for any method) fail as fail says. Scripts queue up: a later one applies
// once the earlier ones for the same calls are used up.
func (s *Server) FailNext(method string, k int, fail Failure) {
	if k <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, &scripted{method: strings.ToLower(method), left: k, fail: fail})
}

// ClearFailures drops every scripted failure not used yet.
func (s *Server) ClearFailures() {
	s.mu.Lock()
	s.failures = nil
	s.mu.Unlock()
}

// takeFailureLocked uses up one scripted failure for method, if any.
func (s *Server) takeFailureLocked(method string) *Failure {
	for i, f := range s.failures {
		if f.method != "" && f.method != method {
			continue
		}
		f.left--
		if f.left <= 0 {
			s.failures = append(s.failures[:i], s.failures[i+1:]...)
		}
		fail := f.fail
		return &fail
	}
	return nil
}

// writeFailure answers a scripted error.
func writeFailure(w http.ResponseWriter, f Failure) {
	desc := f.Description
	if desc == "" {
		switch f.Status {
		case http.StatusTooManyRequests:
			desc = "Too Many Requests: retry after " + strconv.Itoa(f.RetryAfter)
		case http.StatusForbidden:
			desc = "Forbidden: bot was blocked by the user"
		case http.StatusBadRequest:
			desc = "Bad Request: chat not found"
		case http.StatusUnauthorized:
			desc = "Unauthorized"
		default:
			desc = http.StatusText(f.Status)
		}
	}
	parameters := map[string]any{}
	if f.Status == http.StatusTooManyRequests {
		parameters["retry_after"] = f.RetryAfter
		if !f.NoRetryAfterHeader {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
	}
	if f.MigrateToChatID != 0 {
		parameters["migrate_to_chat_id"] = f.MigrateToChatID
	}
	writeError(w, f.Status, desc, parameters)
}
