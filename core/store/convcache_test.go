package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/sdk"
)

// fill sets every field reachable from v to a non-zero value, allocating
// pointers, maps and slices, so a copy can be checked for sharing.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0))
		v.Set(s)
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	}
}

// shared names the first pointer, map or slice a and b have in common.
func shared(a, b reflect.Value, path string) string {
	switch a.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice:
		if !a.IsNil() && a.Pointer() == b.Pointer() {
			return path
		}
	}
	switch a.Kind() {
	case reflect.Pointer:
		if !a.IsNil() {
			return shared(a.Elem(), b.Elem(), path)
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if a.Type().Field(i).IsExported() {
				if p := shared(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); p != "" {
					return p
				}
			}
		}
	case reflect.Slice:
		for i := range min(a.Len(), b.Len()) {
			if p := shared(a.Index(i), b.Index(i), path+"[]"); p != "" {
				return p
			}
		}
	}
	return ""
}

// A field added to Conversation that clone would share between copies
// fails here.
// checkClone fills every field of a T, clones it, and checks that the
// copy is equal and shares nothing with the original.
func checkClone[T any](t *testing.T, clone func(T) T) {
	t.Helper()
	var v T
	fill(reflect.ValueOf(&v).Elem())
	cp := clone(v)
	if !reflect.DeepEqual(v, cp) {
		t.Fatalf("clone differs:\n%+v\n%+v", v, cp)
	}
	if p := shared(reflect.ValueOf(v), reflect.ValueOf(cp), reflect.TypeOf(v).Name()); p != "" {
		t.Errorf("clone shares %s with the original", p)
	}
}

func TestConversationCloneSharesNothing(t *testing.T) {
	checkClone(t, Conversation.clone)
}

func TestConversationReadsFollowWrites(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	if _, err := s.CommitEvents(ctx, "tg", []sdk.Event{msg("1", "chat1", "hi")}); err != nil {
		t.Fatal(err)
	}
	conv, err := s.ConversationByRef("tg", "chat1")
	if err != nil {
		t.Fatal(err)
	}
	read := func() Conversation {
		t.Helper()
		c, err := s.Conversation(conv.ID)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	first := read() // decoded and kept

	// What a reader does to its copy stays with it.
	first.Context = map[string]string{"reply_token": "mine"}
	first.Handoff = &conversation.Handoff{Reason: "mine"}
	if again := read(); again.Context != nil || again.Handoff != nil {
		t.Fatalf("a reader's change reached the next reader: %+v", again)
	}

	// A write is read back, in later transactions and in its own.
	err = s.Update(ctx, func(tx *Tx) error {
		c, err := GetConversationTx(tx, conv.ID)
		if err != nil {
			return err
		}
		c.Handoff = &conversation.Handoff{Cause: conversation.CauseKeyword, Reason: "asked"}
		c.State = conversation.WaitingHuman
		c.Context = map[string]string{"k": "v"}
		if err := PutConversationTx(tx, &c); err != nil {
			return err
		}
		in, err := GetConversationTx(tx, conv.ID)
		if err != nil {
			return err
		}
		if in.State != conversation.WaitingHuman || in.Context["k"] != "v" {
			t.Errorf("the writing transaction reads %+v", in)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := read(); got.State != conversation.WaitingHuman || got.Handoff == nil || got.Handoff.Reason != "asked" || got.Context["k"] != "v" {
		t.Fatalf("after the write: %+v", got)
	}

	// A write that rolls back leaves the stored record to be read.
	boom := errors.New("boom")
	err = s.Update(ctx, func(tx *Tx) error {
		c, err := GetConversationTx(tx, conv.ID)
		if err != nil {
			return err
		}
		c.State = conversation.Closed
		if err := PutConversationTx(tx, &c); err != nil {
			return err
		}
		if _, err := GetConversationTx(tx, conv.ID); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("rolled-back write: %v", err)
	}
	if got := read(); got.State != conversation.WaitingHuman {
		t.Fatalf("after a rollback: state %s, want %s", got.State, conversation.WaitingHuman)
	}
}
