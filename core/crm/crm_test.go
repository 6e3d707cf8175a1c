package crm

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// run starts the lookups against url and stops them when the test ends.
func run(t *testing.T, st *store.Store, url string, timeout, retry time.Duration) {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	s := New(Config{URL: url, Timeout: timeout, RetryAfter: retry}, st, log)
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); s.Wait() })
}

// newConversation commits a visitor's first message, which makes the
// conversation (and its conversation.created event).
func newConversation(t *testing.T, st *store.Store, user string) string {
	t.Helper()
	res, err := st.CommitEvents(context.Background(), "tg", []sdk.Event{{
		ID: store.NewID("e_"), Kind: sdk.KindMessage, Conversation: user, User: sdk.User{ID: user, Name: "V " + user}, Text: "hello",
	}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Accepted[0].ConversationID
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLookupStoresTheProfile(t *testing.T) {
	st := openStore(t)
	var got atomic.Value
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got.Store(string(body))
		io.WriteString(w, `{"name":"Vera","email":"vera@example.com","tier":"gold","fields":{"plan": "pro", "orders": 12}}`)
	}))
	defer crm.Close()
	run(t, st, crm.URL, 5*time.Second, time.Minute)
	id := newConversation(t, st, "77")
	eventually(t, "the profile", func() bool {
		c, _ := st.Conversation(id)
		return c.Profile != nil
	})
	c, _ := st.Conversation(id)
	if p := c.Profile; p.Name != "Vera" || p.Email != "vera@example.com" || p.Tier != "gold" || string(p.Fields) != `{"plan":"pro","orders":12}` {
		t.Errorf("profile %+v fields %s", p, p.Fields)
	}
	var req struct {
		Channel string   `json:"channel"`
		User    sdk.User `json:"user"`
	}
	if err := json.Unmarshal([]byte(got.Load().(string)), &req); err != nil || req.Channel != "tg" || req.User.ID != "77" {
		t.Errorf("lookup request %v (%v)", got.Load(), err)
	}
	if ctx := Context(c.Profile); !strings.Contains(ctx, "tier: gold") || !strings.Contains(ctx, `"plan":"pro"`) {
		t.Errorf("model context %q", ctx)
	}
}

func TestFailingLookupIsRetriedLater(t *testing.T) {
	st := openStore(t)
	var calls atomic.Int32
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			User sdk.User `json:"user"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		if req.User.ID != "88" {
			io.WriteString(w, `{}`)
			return
		}
		if calls.Add(1) <= 2 {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, `{"name":"Walt","tier":"silver"}`)
	}))
	defer crm.Close()
	run(t, st, crm.URL, 5*time.Second, 20*time.Millisecond)
	id := newConversation(t, st, "88")
	eventually(t, "the profile after the failures", func() bool {
		c, _ := st.Conversation(id)
		return c.Profile != nil
	})
	if n := calls.Load(); n != 3 {
		t.Errorf("%d lookups, want 3 (two failures, then the answer)", n)
	}
	c, _ := st.Conversation(id)
	if c.Profile.Tier != "silver" {
		t.Errorf("profile %+v", c.Profile)
	}
}

func TestSlowLookupTimesOutAndBadAnswersAreRefused(t *testing.T) {
	st := openStore(t)
	release := make(chan struct{})
	var mu sync.Mutex
	answers := map[string]string{
		"big":    `{"name":"B","fields":{"x":"` + strings.Repeat("y", store.MaxProfileFields) + `"}}`,
		"notobj": `{"name":"N","fields":[1,2]}`,
		"junk":   `<html>`,
	}
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			User sdk.User `json:"user"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		a, ok := answers[req.User.ID]
		mu.Unlock()
		if !ok {
			select { // the slow one: held until the test ends or the lookup gives up
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		io.WriteString(w, a)
	}))
	defer crm.Close()
	defer close(release)
	run(t, st, crm.URL, 200*time.Millisecond, time.Hour)
	slow := newConversation(t, st, "slow")
	eventually(t, "the slow lookup to give up", func() bool {
		c, _ := st.Conversation(slow)
		return !c.LookupAt.IsZero()
	})
	if c, _ := st.Conversation(slow); c.Profile != nil {
		t.Errorf("a lookup that timed out stored %+v", c.Profile)
	}
	big, notObj, junk := newConversation(t, st, "big"), newConversation(t, st, "notobj"), newConversation(t, st, "junk")
	for _, id := range []string{big, notObj, junk} {
		eventually(t, "the lookup of "+id, func() bool {
			c, _ := st.Conversation(id)
			return !c.LookupAt.IsZero()
		})
	}
	if c, _ := st.Conversation(big); c.Profile == nil || c.Profile.Name != "B" || c.Profile.Fields != nil {
		t.Errorf("over-size fields: %+v", c.Profile)
	}
	for _, id := range []string{notObj, junk} {
		if c, _ := st.Conversation(id); c.Profile != nil {
			t.Errorf("a bad answer was stored: %+v", c.Profile)
		}
	}
}
