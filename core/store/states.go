package store

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

// The state index lets the daemon find the conversations in one state, and
// count them, without reading every conversation: bucket conv_states holds
// one empty key state\0id per conversation, and the meta bucket one counter
// per state. putConversation keeps both in step with the records.

// keyStatesIndexed marks a database whose state index is complete.
var keyStatesIndexed = []byte("conv_states_indexed")

func stateKey(state conversation.State, id string) []byte {
	k := make([]byte, 0, len(state)+1+len(id))
	k = append(k, state...)
	k = append(k, 0)
	return append(k, id...)
}

func stateCountKey(state conversation.State) []byte { return []byte("conv_count\x00" + string(state)) }

func addStateCount(meta *bolt.Bucket, state conversation.State, delta int64) error {
	k := stateCountKey(state)
	var n int64
	if v := meta.Get(k); v != nil {
		n = int64(readU64(v))
	}
	return meta.Put(k, u64(uint64(n+delta)))
}

// indexState records that conversation id is now in state, moving it out
// of the state it was in.
func indexState(tx *bolt.Tx, id string, state conversation.State) error {
	idx, meta := appending(tx, bucketConvStates), tx.Bucket(bucketMeta)
	if idx.Get(stateKey(state, id)) != nil {
		return nil
	}
	for _, old := range conversation.States {
		if old == state || idx.Get(stateKey(old, id)) == nil {
			continue
		}
		if err := idx.Delete(stateKey(old, id)); err != nil {
			return err
		}
		if err := addStateCount(meta, old, -1); err != nil {
			return err
		}
	}
	if err := idx.Put(stateKey(state, id), nil); err != nil {
		return err
	}
	return addStateCount(meta, state, 1)
}

// buildStateIndex indexes every conversation of a database written before
// the index existed; it runs once, when such a database is opened.
func buildStateIndex(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta.Get(keyStatesIndexed) != nil {
		return nil
	}
	err := tx.Bucket(bucketConversations).ForEach(func(k, v []byte) error {
		var c struct {
			State conversation.State `json:"state"`
		}
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("decode conversation %s: %w", k, err)
		}
		return indexState(tx, string(k), c.State)
	})
	if err != nil {
		return fmt.Errorf("index conversation states: %w", err)
	}
	return meta.Put(keyStatesIndexed, []byte("1"))
}
