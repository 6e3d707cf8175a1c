package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

func TestConversationsPageThroughWhileNewOnesArrive(t *testing.T) {
	srv, st := newTestServer(t, stubChannels{})
	const existing = 1200
	want := map[string]bool{}
	for i := range existing {
		c, err := st.CreateConversation(context.Background(), store.Conversation{Channel: APIChannel, User: sdk.User{ID: fmt.Sprint("u", i)}})
		if err != nil {
			t.Fatal(err)
		}
		want[c.ID] = true
	}
	pageWhileCreating(t, srv, "/v1/conversations", "conversations", want, 0, func() error {
		_, err := st.CreateConversation(context.Background(), store.Conversation{Channel: APIChannel, User: sdk.User{ID: "late"}})
		return err
	})
}

// pageThrough walks a list route from its first page to its last, 100
// entries a page, in order, and counts how often each id was seen.
func pageThrough(t *testing.T, srv *httptest.Server, path, list, order string) (map[string]int, int) {
	t.Helper()
	seen := map[string]int{}
	cursor, pages := "", 0
	for {
		q := url.Values{"limit": {"100"}, "order": {order}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		code, body := call(t, srv, "GET", path+"?"+q.Encode(), "k1", "")
		if code != 200 {
			t.Fatalf("page %d: %d %v", pages, code, body)
		}
		pages++
		entries, _ := body[list].([]any)
		if len(entries) > 100 {
			t.Fatalf("page %d holds %d %s, over the limit of 100", pages, len(entries), list)
		}
		for _, e := range entries {
			seen[fmt.Sprint(e.(map[string]any)["id"])]++
		}
		next, _ := body["next_cursor"].(string)
		if next == "" {
			return seen, pages
		}
		if pages > 1000 {
			t.Fatal("the cursor never ends")
		}
		cursor = next
	}
}

// pageWhileCreating pages through list at path in each order while create
// adds entries (up to most, 0 for no limit), and checks that every entry
// of want, and every entry created meanwhile that a page showed, was seen
// exactly once. Entries seen are wanted in the next order too.
func pageWhileCreating(t *testing.T, srv *httptest.Server, path, list string, want map[string]bool, most int, create func() error) {
	t.Helper()
	for _, order := range []string{"asc", "desc"} {
		t.Run(order, func(t *testing.T) {
			stop := make(chan struct{})
			var wg sync.WaitGroup
			created := 0
			wg.Go(func() {
				for most == 0 || created < most {
					select {
					case <-stop:
						return
					default:
					}
					if err := create(); err != nil {
						t.Error(err)
						return
					}
					created++
				}
			})
			seen, pages := pageThrough(t, srv, path, list, order)
			close(stop)
			wg.Wait()
			for id := range want {
				if seen[id] != 1 {
					t.Errorf("%s %s seen %d times, want once", list, id, seen[id])
				}
			}
			late := 0
			for id, n := range seen {
				if n != 1 {
					t.Errorf("%s %s created while paging seen %d times", list, id, n)
				}
				if !want[id] {
					late++
				}
			}
			t.Logf("%d pages; %d %s created while paging, %d of them seen", pages, created, list, late)
			for id := range seen {
				want[id] = true
			}
		})
	}
}

func TestTicketsPageThroughWhileNewOnesArrive(t *testing.T) {
	srv, desk := newTicketServer(t)
	const existing = 450
	want := map[string]bool{}
	newTicket := func() store.Ticket {
		tk, err := desk.CreateTicket(context.Background(), store.Ticket{
			Subject: "Refund", Status: store.TicketOpen, Priority: store.PriorityNormal,
			Requester: store.Requester{Channel: "tg", User: sdk.User{ID: "7"}},
		})
		if err != nil {
			t.Error(err)
		}
		return tk
	}
	for range existing {
		want[fmt.Sprint(newTicket().ID)] = true
	}
	// At most 1,000 more, so the listing surely ends.
	pageWhileCreating(t, srv, "/v1/tickets", "tickets", want, 1000, func() error {
		newTicket()
		return nil
	})
}

// Every list route pages: a first page of one entry says where the next
// starts, and the two pages differ.
func TestEveryListRoutePages(t *testing.T) {
	srv, desk := newTicketServer(t)
	st := desk.Store
	ctx := context.Background()
	_, conv := call(t, srv, "POST", "/v1/conversations", "k1", `{"user":{"id":"u1"}}`)
	id := conv["id"].(string)
	c, err := st.Conversation(id)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := st.CommitEvents(ctx, APIChannel, []sdk.Event{{ID: fmt.Sprint("m", i), Kind: sdk.KindMessage, Conversation: id, Text: "hi"}}); err != nil {
			t.Fatal(err)
		}
		call(t, srv, "POST", "/v1/admin/apikeys", "k1", fmt.Sprintf(`{"name":"key %d","scopes":["conversations:read"]}`, i))
		call(t, srv, "POST", "/v1/conversations", "k1", `{"user":{"id":"u2"}}`)
		if code, v := call(t, srv, "POST", "/v1/tickets", "k1", fmt.Sprintf(`{"subject":"ticket %d","conversation_id":%q}`, i, id)); code != 201 {
			t.Fatalf("create ticket: %d %v", code, v)
		}
		handoff := st.Now().Add(time.Duration(i-10) * time.Minute)
		req := conversation.RatingRequest{HandoffAt: handoff, AskedAt: handoff.Add(time.Minute), Operator: conversation.Operator{ID: "op-1", Name: "Bob"}}
		if err := st.Update(ctx, func(tx *store.Tx) error { return store.AskRatingTx(tx, &c, req) }); err != nil {
			t.Fatal(err)
		}
	}
	routes := []struct{ path, list string }{
		{"/v1/conversations", "conversations"},
		{"/v1/conversations/" + id + "/messages", "messages"},
		{"/v1/conversations/" + id + "/ratings", "ratings"},
		{"/v1/admin/apikeys", "keys"},
		{"/v1/admin/audit", "entries"},
		{"/v1/tickets", "tickets"},
		{"/v1/tickets?conversation_id=" + id, "tickets"},
		{"/v1/tickets?status=open", "tickets"},
	}
	for _, rt := range routes {
		for _, order := range []string{"asc", "desc"} {
			t.Run(rt.path+" "+order, func(t *testing.T) {
				sep := "?"
				if strings.Contains(rt.path, "?") {
					sep = "&"
				}
				code, first := call(t, srv, "GET", rt.path+sep+"limit=1&order="+order, "k1", "")
				next, _ := first["next_cursor"].(string)
				if code != 200 || next == "" {
					t.Fatalf("first page: %d %v, want a next_cursor", code, first)
				}
				code, second := call(t, srv, "GET", rt.path+sep+"limit=1&order="+order+"&cursor="+url.QueryEscape(next), "k1", "")
				if code != 200 {
					t.Fatalf("second page: %d %v", code, second)
				}
				a, b := fmt.Sprint(first[rt.list]), fmt.Sprint(second[rt.list])
				if a == b || len(second[rt.list].([]any)) != 1 {
					t.Errorf("pages %s and %s, want two different entries", a, b)
				}
			})
		}
	}
}

// TestListRoutesMatchTheDocument holds the routes the fuzzing and the
// paging tests walk to the document: every /v1 operation that takes a
// cursor is a list route, and every list route takes one.
func TestListRoutesMatchTheDocument(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Ref string `json:"$ref"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	var paged []string
	for path, ops := range doc.Paths {
		for _, p := range ops["get"].Parameters {
			if p.Ref == "#/components/parameters/cursor" && strings.HasPrefix(path, "/v1/") {
				paged = append(paged, path)
			}
		}
	}
	var listed []string
	for _, r := range listRoutes {
		if r != "/v1/stats" { // in the fuzzing for its query, not a list
			listed = append(listed, strings.NewReplacer("{conv}", "{id}", "{hook}", "{id}").Replace(r))
		}
	}
	slices.Sort(paged)
	slices.Sort(listed)
	if !slices.Equal(paged, listed) {
		t.Errorf("the document pages %v\nlistRoutes has %v", paged, listed)
	}
}
