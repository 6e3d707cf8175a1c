package store

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/sdk"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

// schema1 copies the database written by the schema 1 code (see the
// commit that added testdata/schema1.db) to a temporary file.
func schema1(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "schema1.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "switchboard.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func schemaVersion(t *testing.T, path string) string {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	db.View(func(tx *bolt.Tx) error {
		v = string(tx.Bucket(bucketMeta).Get(keySchemaVersion))
		return nil
	})
	return v
}

func TestSchema1DatabaseUpgrades(t *testing.T) {
	path := schema1(t)
	if v := schemaVersion(t, path); v != "1" {
		t.Fatalf("test data has schema %s, want 1", v)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	conv := func(channel, ref string) string {
		t.Helper()
		c, err := s.ConversationByRef(channel, ref)
		if err != nil {
			t.Fatalf("conversation %s/%s: %v", channel, ref, err)
		}
		return c.ID
	}
	plain, waiting, fresh, back, native := conv("tg", "1000"), conv("tg", "1001"), conv("line", "U77"), conv("tg", "1003"), conv("siq", "v5")
	at := func(sec int) time.Time { return time.Date(2025, 6, 2, 9, 30, sec, 0, time.UTC) }
	ann, cy := sdk.User{ID: "1001", Name: "Ann"}, sdk.User{ID: "U77", Name: "Cy"}
	private := map[string]string{"chat_type": "private"}
	want := []OutboxEntry{
		{Seq: 2, ConversationID: waiting, Instance: "desk", Payload: RelayToDesk{User: ann, Text: "are you there?"}},
		{Seq: 3, ConversationID: waiting, Instance: "tg", Payload: SendText{Ref: "1001", User: ann, Text: "Hi Ann, Bob here.", Role: conversation.RoleOperator, Context: private}},
		{Seq: 4, ConversationID: fresh, Instance: "line", Attempts: 2, LastError: "line reply: LINE answered 500", NextAttempt: at(13), CreatedAt: at(10),
			Payload: SendText{Ref: "U77", User: cy, Text: "connecting you", Role: conversation.RoleBot,
				Context: map[string]string{"once.reply_token": "rt-1", "reply_token_at": "1748856600000", "source_type": "user"}}},
		{Seq: 5, ConversationID: fresh, Instance: "desk", Payload: OpenHandoff{User: cy, Channel: "line", Reason: "refund over limit",
			Summary:    "Cy on line needs a human (refund over limit). Last message: refund please",
			Transcript: []sdk.TranscriptEntry{{Role: "visitor", Text: "refund please", Time: at(9)}, {Role: "bot", Text: "connecting you", Time: at(10)}}}},
		{Seq: 6, ConversationID: back, Instance: "desk", Payload: CloseHandoff{Reason: "the visitor went back to the bot"}},
		{Seq: 7, ConversationID: back, Instance: "tg", Payload: SendText{Ref: "1003", User: sdk.User{ID: "1003", Name: "Di"}, Text: "back to bot", Role: conversation.RoleBot}},
		{Seq: 8, ConversationID: native, Instance: "siq", Payload: NativeHandoff{Ref: "v5", User: sdk.User{ID: "v5", Name: "Ed"}, Text: "connecting you",
			Reason: "the visitor asked for a human", Context: map[string]string{"request_id": "req-5", "conversation_id": "11209000000003001"}}},
	}
	check := func(s *Store) {
		t.Helper()
		got, err := s.Outbox()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d pending entries, want %d", len(got), len(want))
		}
		for i, w := range want {
			g := got[i]
			if w.CreatedAt.IsZero() { // queued and due at once
				w.CreatedAt, w.NextAttempt = g.CreatedAt, g.CreatedAt
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("entry %d:\n got %+v\nwant %+v", w.Seq, g, w)
			}
		}
		dl, err := s.DeadLetters()
		if err != nil || len(dl) != 1 {
			t.Fatalf("dead letters %+v (%v)", dl, err)
		}
		wantText := SendText{Ref: "1000", User: sdk.User{ID: "1000", Name: "Bo"}, Text: "It ships today.", Role: conversation.RoleBot, Context: private}
		if e := dl[0].Entry; e.ID() != "o1" || e.ConversationID != plain || e.Instance != "tg" || e.Attempts != 1 ||
			!reflect.DeepEqual(e.Payload, wantText) || !strings.Contains(dl[0].Error, "chat not found") {
			t.Errorf("dead letter %+v", dl[0])
		}
		if n, err := s.PossiblyDelivered(); n != 1 || err != nil {
			t.Errorf("possibly delivered: %d, %v", n, err)
		}
		s.View(func(tx *bolt.Tx) error {
			d, err := decodeDeadLetter(tx.Bucket(bucketPossiblyDelivered).Get(u64(9)))
			if err != nil || d.Entry.Text() != "Anything else?" {
				t.Errorf("possibly delivered record %+v: %v", d, err)
			}
			return nil
		})
		for _, m := range []struct{ conv, ref string }{{waiting, "T-1"}, {back, "T-3"}} {
			if desk, ref, ok := s.DeskRef(m.conv); !ok || desk != "desk" || ref != m.ref {
				t.Errorf("desk reference of %s: %s %s %v, want desk %s", m.conv, desk, ref, ok, m.ref)
			}
			if id, err := s.ConversationByDeskRef("desk", m.ref); err != nil || id != m.conv {
				t.Errorf("desk reference %s maps to %q (%v)", m.ref, id, err)
			}
		}
		c, err := s.Conversation(waiting)
		if err != nil || c.State != conversation.WaitingHuman || c.Handoff == nil || c.Handoff.Desk != "desk" ||
			!c.Handoff.Deadline.Equal(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("handoff in progress %+v (%v)", c, err)
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if v, want := schemaVersion(t, path), strconv.Itoa(SchemaVersion); v != want {
		t.Fatalf("schema version %s after the upgrade, want %s", v, want)
	}
	again, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("open the upgraded database: %v", err)
	}
	defer again.Close()
	check(again)
	var retried OutboxEntry
	err = again.Update(t.Context(), func(tx *Tx) error {
		var err error
		retried, err = RetryDeadLetterTx(tx, 1, time.Now())
		return err
	})
	if err != nil || retried.ID() != "o1" || retried.Op() != OpSendText || retried.Text() != "It ships today." {
		t.Errorf("retried dead letter %+v (%v)", retried, err)
	}
}

// An entry the upgrade cannot read stops the open, names the entry, and
// leaves the database as it was.
func TestFailedUpgradeChangesNothing(t *testing.T) {
	path := schema1(t)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOutbox).Put(u64(99), []byte(`{"seq":99,"conversation_id":"c_x","instance":"tg","kind":"fax"}`))
	})
	db.Close()
	_, err = Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "outbox 99") || !strings.Contains(err.Error(), `"fax"`) {
		t.Fatalf("open: %v; want an error naming outbox entry 99 and its kind", err)
	}
	if v := schemaVersion(t, path); v != "1" {
		t.Errorf("schema version %s after a failed upgrade, want 1", v)
	}
}

func TestOutboxEntriesKeepTheirPayload(t *testing.T) {
	user := sdk.User{ID: "42", Name: "Ann"}
	tests := []Payload{
		SendText{Ref: "42", User: user, Text: "hi", Role: conversation.RoleBot, Context: map[string]string{"once.reply_token": "r"}},
		NativeHandoff{Ref: "42", User: user, Text: "connecting you", Reason: "refund"},
		OpenHandoff{User: user, Channel: "tg", Reason: "refund", Summary: "Ann needs a human",
			Transcript: []sdk.TranscriptEntry{{Role: "visitor", Text: "help", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}},
		RelayToDesk{User: user, Text: "still there?"},
		CloseHandoff{Reason: "back to the bot"},
	}
	s := openTest(t, Options{})
	for _, p := range tests {
		t.Run(p.Operation().String(), func(t *testing.T) {
			e := OutboxEntry{ConversationID: "c_1", Instance: "x", Payload: p}
			if err := s.Update(t.Context(), func(tx *Tx) error { return PutOutboxTx(tx, &e) }); err != nil {
				t.Fatal(err)
			}
			out, err := s.Outbox()
			if err != nil {
				t.Fatal(err)
			}
			got := out[len(out)-1]
			if got.Seq != e.Seq || got.Op() != p.Operation() || !reflect.DeepEqual(got.Payload, p) {
				t.Errorf("stored %+v, read back %+v", e, got)
			}
		})
	}
	if err := s.Update(t.Context(), func(tx *Tx) error { return PutOutboxTx(tx, &OutboxEntry{ConversationID: "c_1"}) }); err == nil {
		t.Error("an entry without a payload was stored")
	}
}
