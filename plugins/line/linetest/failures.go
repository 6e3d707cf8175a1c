package linetest

import (
	"net/http"
	"time"
)

// Failure scripts how the fake fails a request instead of answering it.
type Failure struct {
	// Status, when set, is answered with LINE's error body and Message.
	Status int
	// Message is the error body's message; a default fits the status.
	Message string
	// RetryAfter, when set, is sent as the Retry-After header (LINE
	// documents none; real answers may lack it).
	RetryAfter string
	// Drop closes the connection without an answer before anything is
	// done: nothing is delivered.
	Drop bool
	// DropAfterAccept carries the request out (a push is delivered and its
	// retry key accepted), then closes the connection without an answer:
	// the client cannot know it succeeded.
	DropAfterAccept bool
	// Delay is a wait before the request is handled: as the other fields
	// say, or normally when none is set (a slow LINE that still carries
	// the request out after the client gave up).
	Delay time.Duration
}

// Common failures.
var (
	// RateLimited is LINE's 429 for exceeding the rate limit.
	RateLimited = Failure{Status: http.StatusTooManyRequests, Message: "The API rate limit has been exceeded. Try again later."}
	// MonthlyLimit is LINE's 429 when the month's message quota is used up.
	MonthlyLimit = Failure{Status: http.StatusTooManyRequests, Message: "You have reached your monthly limit."}
	// ServerError is a 500.
	ServerError = Failure{Status: http.StatusInternalServerError}
	// BadRequest is a 400 such as LINE answers for a push to an unknown user.
	BadRequest = Failure{Status: http.StatusBadRequest, Message: "Failed to send messages"}
	// Dropped is a connection closed before the request was carried out.
	Dropped = Failure{Drop: true}
	// AcceptedThenDropped is a connection closed after the request was
	// carried out.
	AcceptedThenDropped = Failure{DropAfterAccept: true}
)

// scriptedFailure is a failure waiting for matching calls.
type scriptedFailure struct {
	endpoint string
	left     int
	fail     Failure
}

// FailNext makes the next k requests to endpoint (one of the Endpoint
// constants; "" for any) fail as fail says. Scripts queue up: a later one
// applies once the earlier ones for the same requests are used up.
func (f *Fake) FailNext(endpoint string, k int, fail Failure) {
	if k <= 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, scriptedFailure{endpoint: endpoint, left: k, fail: fail})
}

// takeFailure returns the failure scripted for a request to endpoint, if
// any, and counts it down. Called with f.mu held.
func (f *Fake) takeFailure(endpoint string) (Failure, bool) {
	for i := range f.failures {
		s := &f.failures[i]
		if s.left > 0 && (s.endpoint == "" || s.endpoint == endpoint) {
			s.left--
			fail := s.fail
			if s.left == 0 {
				f.failures = append(f.failures[:i], f.failures[i+1:]...)
			}
			return fail, true
		}
	}
	return Failure{}, false
}

// defaultMessage is the error message of a status without one.
func defaultMessage(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "The API rate limit has been exceeded. Try again later."
	case http.StatusUnauthorized:
		return "Authentication failed due to the following reason: invalid token. Confirm that the access token in the authorization header is valid."
	case http.StatusBadRequest:
		return "The request body has 1 error(s)"
	}
	return http.StatusText(status)
}
