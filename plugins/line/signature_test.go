package main

import (
	"context"
	"net/http"
	"testing"
)

// The published vector of LINE's Node.js SDK (test/validate-signature.spec.ts).
const (
	vectorSecret = "test_secret"
	vectorBody   = `{"hello":"world"}`
	vectorSig    = "t7Hn4ZDHqs6e+wdvI5TyQIvzie0DmMUmuXEBqyyE/tM="
)

func TestSignatureVector(t *testing.T) {
	tests := []struct {
		name string
		body string
		sig  string
		want bool
	}{
		{"published vector", vectorBody, vectorSig, true},
		{"one byte changed in the body", `{"hello":"World"}`, vectorSig, false},
		{"trailing newline added", vectorBody + "\n", vectorSig, false},
		{"case-flipped signature", vectorBody, "t7Hn4ZDHqs6e+wdvi5TyQivzie0DmMUmuXEBqyyE/tM=", false},
		{"missing signature", vectorBody, "", false},
		{"not base64", vectorBody, "t7Hn4ZDHqs6e+wdvI5TyQIvzie0DmMUmuXEBqyyE/tM", false},
		// line-bot-sdk-python tests/test_webhook.py
		{"python SDK vector", "bodybodybodybody", "/gg9a+LvFevTH1sd7XCQycD7tsWclCsInj7MhBHxN7k=", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validSignature([]byte(vectorSecret), []byte(tt.body), tt.sig); got != tt.want {
				t.Errorf("validSignature = %v, want %v", got, tt.want)
			}
		})
	}
	if !validSignature([]byte("channel_secret"), []byte("bodybodybodybody"), "/gg9a+LvFevTH1sd7XCQycD7tsWclCsInj7MhBHxN7k=") {
		t.Error("python SDK vector rejected with its own secret")
	}
}

func TestWebhookSignatureStatus(t *testing.T) {
	c := configured(t, "http://127.0.0.1:1", nil)
	ctx := context.Background()
	tests := []struct {
		name string
		body string
		sig  string
		want int
	}{
		{"published vector is accepted", vectorBody, vectorSig, http.StatusBadRequest}, // verified, but not a LINE body
		{"one byte changed", `{"hello":"worle"}`, vectorSig, http.StatusUnauthorized},
		{"no signature", vectorBody, "", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.HandleWebhook(ctx, withSignature(tt.body, tt.sig))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tt.want || len(resp.Events) != 0 {
				t.Errorf("status %d with %d events, want %d and none", resp.Status, len(resp.Events), tt.want)
			}
		})
	}
}
