package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// seedChat is the Telegram chat id of seeded conversation i.
func seedChat(i int) int64 { return 5_000_000_000 + int64(i) }

// seed writes n Telegram conversations (one visitor message each, with its
// event ID remembered for dedup) into the database at path, through the
// store package with fsync off, and removes their inbox items so the
// daemon finds them settled. With outbox set, each conversation also gets
// one pending reply in the outbox. It must run before the daemon starts.
func seed(path string, n int, outbox bool) time.Duration {
	start := time.Now()
	st, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		fatalf("seed: %v", err)
	}
	ctx := context.Background()
	const batch = 5000
	for lo := 0; lo < n; lo += batch {
		hi := min(n, lo+batch)
		events := make([]sdk.Event, 0, hi-lo)
		for i := lo; i < hi; i++ {
			chat := strconv.FormatInt(seedChat(i), 10)
			events = append(events, sdk.Event{
				ID: "seed-" + strconv.Itoa(i), Kind: sdk.KindMessage, Conversation: chat,
				User: sdk.User{ID: chat, Name: "Visitor"}, Text: "hello, seeded line " + strconv.Itoa(i),
				Context: map[string]string{"chat_type": "private", "message_id": "1"},
			})
		}
		res, err := st.CommitEvents(ctx, "tg", events)
		if err != nil {
			fatalf("seed: %v", err)
		}
		err = st.Update(ctx, func(tx *store.Tx) error {
			for _, item := range res.Accepted {
				if err := store.DeleteInbox(tx, item.Seq); err != nil {
					return err
				}
				if outbox {
					e := store.OutboxEntry{
						ConversationID: item.ConversationID, Instance: "tg", CreatedAt: time.Now().UTC(),
						Payload: store.SendText{
							Ref: item.Event.Conversation, User: item.Event.User, Text: fmt.Sprintf("pending reply r%d", item.Seq),
						},
					}
					if err := store.PutOutboxTx(tx, &e); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			fatalf("seed: %v", err)
		}
	}
	// Written with fsync off: flush it now, or the daemon's first commit
	// would wait for the whole file's writeback and the measurements would
	// run during it.
	if err := st.Close(); err != nil {
		fatalf("seed: %v", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		fatalf("seed: %v", err)
	}
	if err := f.Sync(); err != nil {
		fatalf("seed: sync %s: %v", path, err)
	}
	f.Close()
	return time.Since(start)
}
