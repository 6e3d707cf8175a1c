package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
	"github.com/switchboard-chat/switchboard/sdk/plugintest"
)

// benchChannel turns each webhook body ("<n>") into one visitor message
// with event ID n, spread over 100k conversations, like a channel plugin
// with trivial parsing.
type benchChannel struct{}

func (benchChannel) Configure(context.Context, sdk.ConfigureRequest) (sdk.Capabilities, error) {
	return sdk.Capabilities{}, nil
}

func (benchChannel) HandleWebhook(_ context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	n, _ := strconv.ParseInt(string(req.Body), 10, 64)
	ref := strconv.FormatInt(7_000_000_000+(n*7919)%100_000, 10)
	return sdk.WebhookResponse{Status: http.StatusOK, Events: []sdk.Event{{
		ID: string(req.Body), Kind: sdk.KindMessage, Conversation: ref,
		User: sdk.User{ID: ref, Name: "Visitor"}, Text: "hello, where is my order?",
	}}}, nil
}

func (benchChannel) Send(context.Context, sdk.Outbound) (sdk.SendResult, error) {
	return sdk.SendResult{}, nil
}

type oneChannel struct{ ch sdk.Channel }

func (o oneChannel) Channel(name string) (sdk.Channel, bool, error) {
	if name != "tg" {
		return nil, false, nil
	}
	return o.ch, true, nil
}

// BenchmarkWebhook runs POST /webhooks/tg through the server's handler
// (no network): read the body, ask the channel, commit the event with fsync
// (group commit), answer. 64 requests in flight (SetParallelism(32) on 2
// cores). "direct" calls the channel in-process; "grpc" goes through the
// same go-plugin gRPC glue as a plugin process (in-process server).
//
//	go test -run '^$' -bench Webhook -benchtime 5s ./core/httpapi/
func BenchmarkWebhook(b *testing.B) {
	for _, tc := range []struct {
		name string
		ch   func(b *testing.B) sdk.Channel
	}{
		{"direct", func(*testing.B) sdk.Channel { return benchChannel{} }},
		{"grpc", func(b *testing.B) sdk.Channel { return plugintest.Channel(b, benchChannel{}) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			st, err := store.Open(filepath.Join(b.TempDir(), "switchboard.db"), store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			log := logrus.New()
			log.SetOutput(io.Discard)
			s, err := New(Config{MaxBodyBytes: 1 << 20}, st, oneChannel{tc.ch(b)}, nil, func() (bool, any) { return true, nil }, log)
			if err != nil {
				b.Fatal(err)
			}
			var seq atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					body := strconv.AppendInt(nil, seq.Add(1), 10)
					req := httptest.NewRequest(http.MethodPost, "/webhooks/tg", bytes.NewReader(body))
					w := httptest.NewRecorder()
					s.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Errorf("status %d: %s", w.Code, w.Body)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "webhooks/s")
		})
	}
}
