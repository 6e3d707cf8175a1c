package alerts

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

func TestAlertIsPostedWithRetries(t *testing.T) {
	var calls atomic.Int32
	got := make(chan Alert, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var a Alert
		json.NewDecoder(r.Body).Decode(&a)
		got <- a
	}))
	defer srv.Close()
	log := logrus.New()
	log.SetOutput(io.Discard)
	a := New(srv.URL, log)
	a.Backoff = time.Millisecond
	a.Send(DeadLetter, "message o7 could not be delivered", map[string]string{"conversation_id": "c_1"})
	a.Wait()
	select {
	case alert := <-got:
		if alert.Kind != DeadLetter || alert.Fields["conversation_id"] != "c_1" || alert.Time.IsZero() {
			t.Fatalf("alert %+v", alert)
		}
	default:
		t.Fatal("alert not delivered")
	}
	if calls.Load() != 3 {
		t.Fatalf("%d calls, want 3 (two 503s retried)", calls.Load())
	}
}
