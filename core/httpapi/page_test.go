package httpapi

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"testing"

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
	for _, order := range []string{"asc", "desc"} {
		t.Run(order, func(t *testing.T) {
			// New conversations are created all the while.
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			created := 0
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := st.CreateConversation(context.Background(), store.Conversation{Channel: APIChannel, User: sdk.User{ID: "late"}}); err != nil {
						t.Error(err)
						return
					}
					created++
				}
			}()
			seen := map[string]int{}
			cursor, pages := "", 0
			for {
				q := url.Values{"limit": {"100"}, "order": {order}}
				if cursor != "" {
					q.Set("cursor", cursor)
				}
				code, body := call(t, srv, "GET", "/v1/conversations?"+q.Encode(), "k1", "")
				if code != 200 {
					t.Fatalf("page %d: %d %v", pages, code, body)
				}
				pages++
				convs, _ := body["conversations"].([]any)
				if len(convs) > 100 {
					t.Fatalf("page %d holds %d conversations, over the limit of 100", pages, len(convs))
				}
				for _, c := range convs {
					seen[c.(map[string]any)["id"].(string)]++
				}
				next, _ := body["next_cursor"].(string)
				if next == "" {
					break
				}
				if pages > 1000 {
					t.Fatal("the cursor never ends")
				}
				cursor = next
			}
			close(stop)
			wg.Wait()
			for id := range want {
				if seen[id] != 1 {
					t.Errorf("conversation %s seen %d times, want once", id, seen[id])
				}
			}
			for id, n := range seen {
				if n != 1 {
					t.Errorf("conversation %s created while paging seen %d times", id, n)
				}
			}
			late := 0
			for id := range seen {
				if !want[id] {
					late++
				}
			}
			t.Logf("%d pages; %d conversations created while paging, %d of them seen", pages, created, late)
			for id := range seen {
				want[id] = true // the next order must see them too
			}
		})
	}
}

// Every list route pages: a first page of one entry says where the next
// starts, and the two pages differ.
func TestEveryListRoutePages(t *testing.T) {
	srv, st := newTestServer(t, stubChannels{})
	_, conv := call(t, srv, "POST", "/v1/conversations", "k1", `{"user":{"id":"u1"}}`)
	id := conv["id"].(string)
	for i := range 3 {
		if _, err := st.CommitEvents(context.Background(), APIChannel, []sdk.Event{{ID: fmt.Sprint("m", i), Kind: sdk.KindMessage, Conversation: id, Text: "hi"}}); err != nil {
			t.Fatal(err)
		}
		call(t, srv, "POST", "/v1/admin/apikeys", "k1", fmt.Sprintf(`{"name":"key %d","scopes":["conversations:read"]}`, i))
		call(t, srv, "POST", "/v1/conversations", "k1", `{"user":{"id":"u2"}}`)
	}
	routes := []struct{ path, list string }{
		{"/v1/conversations", "conversations"},
		{"/v1/conversations/" + id + "/messages", "messages"},
		{"/v1/admin/apikeys", "keys"},
		{"/v1/admin/audit", "entries"},
	}
	for _, rt := range routes {
		for _, order := range []string{"asc", "desc"} {
			t.Run(rt.path+" "+order, func(t *testing.T) {
				code, first := call(t, srv, "GET", rt.path+"?limit=1&order="+order, "k1", "")
				next, _ := first["next_cursor"].(string)
				if code != 200 || next == "" {
					t.Fatalf("first page: %d %v, want a next_cursor", code, first)
				}
				code, second := call(t, srv, "GET", rt.path+"?limit=1&order="+order+"&cursor="+url.QueryEscape(next), "k1", "")
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
