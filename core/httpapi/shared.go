package httpapi

import (
	"net/http"
	"net/netip"
)

// The daemon's other HTTP surfaces (the web chat's visitor API) answer in
// the same shapes and find the client's address the same way as /v1.

// WriteError answers with the JSON error every route uses:
// {"error":{"code","message"}}.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	writeError(w, status, code, msg)
}

// WriteJSON answers with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }

// DecodeJSON reads one strict JSON object (unknown fields refused) from the
// request body into v; when it cannot, it answers the request itself (413
// over the body limit, 400 malformed) and returns false.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) bool { return decodeJSON(w, r, v) }

// ClientIP is the request's source address: X-Forwarded-For is believed
// only from the trusted proxies (see api.trusted_proxies).
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	return (&access{trusted: trusted}).clientIP(r)
}
