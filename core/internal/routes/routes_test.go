package routes

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

func TestTableRecordsAndServes(t *testing.T) {
	tb := New()
	tb.HandleFunc("GET /a/{id}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("a " + r.PathValue("id"))) })
	tb.Handle("/b/", http.NotFoundHandler())
	if got, want := tb.Patterns(), []string{"GET /a/{id}", "/b/"}; !slices.Equal(got, want) {
		t.Fatalf("patterns %v, want %v", got, want)
	}
	rec := httptest.NewRecorder()
	tb.ServeHTTP(rec, httptest.NewRequest("GET", "/a/7", nil))
	if rec.Body.String() != "a 7" {
		t.Fatalf("served %q", rec.Body)
	}
}
