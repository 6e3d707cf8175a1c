package httpapi

import (
	"net/http"
	"net/netip"
)

// The daemon's other HTTP surfaces (the console's API) answer in the same
// shapes as /v1; these are the helpers they share.

// WriteError answers with the API's error shape,
// {"error":{"code":…,"message":…}}.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	writeError(w, status, code, msg)
}

// WriteJSON answers with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }

// DecodeJSON reads one strict JSON object from the request body into v
// and answers the request itself when it cannot (413 too large, 400
// malformed); it reports whether v was read.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) bool { return decodeJSON(w, r, v) }

// ClientIP is the request's source address: X-Forwarded-For is believed
// only from the trusted proxies, and the right-most address in it that is
// not a trusted proxy is the client.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	return (&access{trusted: trusted}).clientIP(r)
}
