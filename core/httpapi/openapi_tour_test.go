package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/accounts"
	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/httpapi"
	"github.com/switchboard-chat/switchboard/core/internal/apitest"
	"github.com/switchboard-chat/switchboard/core/stats"
	"github.com/switchboard-chat/switchboard/core/store"
)

// actions hand off and close conversations in the store, as the engine
// would, without running one.
type actions struct{ st *store.Store }

func (a actions) change(ctx context.Context, id string, to conversation.State, h *conversation.Handoff) (store.Conversation, error) {
	var out store.Conversation
	err := a.st.Update(ctx, func(tx *store.Tx) error {
		c, err := store.GetConversationTx(tx, id)
		if err != nil {
			return err
		}
		c.State, c.Handoff = to, h
		if err := store.PutConversationTx(tx, &c); err != nil {
			return err
		}
		out = c
		return nil
	})
	return out, err
}

func (a actions) RequestHandoff(ctx context.Context, id, reason string) (store.Conversation, error) {
	return a.change(ctx, id, conversation.WaitingHuman, &conversation.Handoff{Cause: conversation.CauseAPI, Reason: reason, RequestedAt: time.Now(), Desk: "console"})
}

func (a actions) Close(ctx context.Context, id string) (store.Conversation, error) {
	return a.change(ctx, id, conversation.Closed, nil)
}

func (actions) Requeue(store.OutboxEntry) {}

// TestOpenAPITour answers, through the validating client, the routes the
// other tests of this package do not get a success from: each answer
// must be what the document says.
func TestOpenAPITour(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "switchboard.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := logrus.New()
	log.SetOutput(io.Discard)
	s, err := httpapi.New(httpapi.Config{
		MaxBodyBytes: 1 << 16, APIKeys: []string{"k"}, Operators: accounts.New(st, time.Now),
		Stats: func(from, to time.Time) (any, error) { return stats.Compute(st, from, to) },
	}, st, nil, actions{st}, func() (bool, any) { return true, nil }, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	v := apitest.New(t, httpapi.OpenAPI())
	client := v.Client()
	call := func(method, path, body string, want int) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer k")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		data, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(data, &out)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, data, want)
		}
		return out
	}

	conv := call("POST", "/v1/conversations", `{"user":{"id":"u1","name":"Ann"}}`, 201)
	id := conv["id"].(string)
	call("POST", "/v1/conversations/"+id+"/handoff", `{"reason":"asked for a person"}`, 200)
	call("GET", "/v1/conversations/"+id, "", 200)
	call("POST", "/v1/conversations/"+id+"/close", "", 200)
	call("GET", "/v1/conversations/"+id+"/transitions", "", 200)
	call("GET", "/v1/conversations/"+id+"/ratings", "", 200)
	call("GET", "/v1/stats?from=2020-01-01", "", 200)
	call("GET", "/v1/admin/apikeys", "", 200)

	op := call("POST", "/v1/admin/operators", `{"email":"ann@example.com","name":"Ann","role":"agent","password":"a long password"}`, 201)
	opID := op["id"].(string)
	call("GET", "/v1/admin/operators", "", 200)
	call("POST", "/v1/admin/operators/"+opID+"/disable", "", 200)
	call("POST", "/v1/admin/operators/"+opID+"/enable", "", 200)
	call("POST", "/v1/admin/operators/"+opID+"/password", `{"password":"another long password"}`, 200)

	var seqs []uint64
	for range 2 {
		err := st.Update(context.Background(), func(tx *store.Tx) error {
			e := store.OutboxEntry{ConversationID: id, Instance: "api", Payload: store.SendText{Ref: "1", Text: "x"}, Attempts: 12}
			if err := store.PutOutboxTx(tx, &e); err != nil {
				return err
			}
			seqs = append(seqs, e.Seq)
			return store.DeadLetterTx(tx, &e, "gave up", time.Now())
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	dl := call("GET", "/v1/admin/deadletters", "", 200)
	if n := len(dl["deadletters"].([]any)); n != 2 {
		t.Fatalf("%d dead letters", n)
	}
	first := dl["deadletters"].([]any)[0].(map[string]any)["id"].(string)
	second := dl["deadletters"].([]any)[1].(map[string]any)["id"].(string)
	call("POST", "/v1/admin/deadletters/"+first+"/retry", "", 200)
	call("POST", "/v1/admin/deadletters/"+second+"/drop", "", 200)

	if v.Checked() != 16 {
		t.Fatalf("%d exchanges validated", v.Checked())
	}
}
