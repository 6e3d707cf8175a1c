package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// signatureHeader carries the webhook signature (names are case-insensitive).
const signatureHeader = "X-Line-Signature"

// validSignature reports whether sig is Base64(HMAC-SHA256(secret, body)),
// computed over the raw bytes and compared in constant time.
func validSignature(secret, body []byte, sig string) bool {
	sig = strings.TrimSpace(sig)
	if sig == "" {
		return false
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}
