package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/sdk"
)

// Visitors of a built-in channel (the web chat) hold a random token that
// opens their conversation. Only the token's hash is stored: a copy of the
// database opens nobody's chat.

// OpenVisitorConversation gives the visitor holding the token whose hash
// is tokenHash a conversation on channel, in one write: the conversation
// with the native reference ref when there is one (a signed-in visitor
// coming back on another device), else a new one (its own ID as its
// reference when ref is empty). A known visitor whose name changed gets the
// new name.
func (s *Store) OpenVisitorConversation(ctx context.Context, channel, ref string, user sdk.User, tokenHash []byte) (Conversation, error) {
	if len(tokenHash) == 0 {
		return Conversation{}, errors.New("open visitor conversation: empty token hash")
	}
	now := s.opts.Now().UTC()
	var c Conversation
	err := s.Update(ctx, func(tx *Tx) error {
		c = Conversation{}
		if ref != "" {
			if id := tx.Bucket(bucketConvRefs).Get(refKey(channel, ref)); id != nil {
				var err error
				if c, err = getConversation(tx.Tx, string(id)); err != nil {
					return err
				}
				if user.Name != "" && user.Name != c.User.Name {
					c.User.Name, c.UpdatedAt = user.Name, now
					if err := PutConversationTx(tx, &c); err != nil {
						return err
					}
				}
			}
		}
		if c.ID == "" {
			c = Conversation{
				ID: NewID("c_"), Channel: channel, Ref: ref, User: user,
				Status: conversation.Status{State: conversation.Bot}, CreatedAt: now, UpdatedAt: now,
			}
			if c.Ref == "" {
				c.Ref = c.ID
			}
			if err := putConversation(tx.Tx, &c); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketVisitorTokens).Put(tokenHash, []byte(c.ID))
	})
	if err != nil {
		return Conversation{}, fmt.Errorf("open visitor conversation: %w", err)
	}
	return c, nil
}

// VisitorConversation is the conversation of the visitor token whose hash
// is tokenHash; ErrNotFound for an unknown token.
func (s *Store) VisitorConversation(tokenHash []byte) (Conversation, error) {
	var c Conversation
	err := s.db.View(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketVisitorTokens).Get(tokenHash)
		if id == nil {
			return fmt.Errorf("visitor token: %w", ErrNotFound)
		}
		var err error
		c, err = getConversation(tx, string(id))
		return err
	})
	return c, err
}

// MessageByEventID finds the transcript message written for the event with
// the given ID, searching from the newest: a client retrying a send asks
// about one of its latest messages.
func (s *Store) MessageByEventID(convID, eventID string) (Message, error) {
	// The ID as it appears inside the stored JSON.
	needle, err := json.Marshal(eventID)
	if err != nil {
		return Message{}, err
	}
	needle = needle[1 : len(needle)-1]
	var found Message
	err = s.db.View(func(tx *bolt.Tx) error {
		prefix := messagePrefix(convID)
		c := tx.Bucket(bucketMessages).Cursor()
		k, v := c.Seek(messageKey(convID, ^uint64(0)))
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
			// Most messages are not it: look before decoding.
			if !bytes.Contains(v, needle) {
				continue
			}
			var m Message
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("decode message %x: %w", k, err)
			}
			if m.EventID == eventID {
				found = m
				return nil
			}
		}
		return fmt.Errorf("message of event %s: %w", eventID, ErrNotFound)
	})
	return found, err
}

// Rating is a visitor's verdict on the operator who served them.
type Rating struct {
	ConversationID string `json:"conversation_id"`
	// Score is 1 (bad) to 5 (excellent).
	Score   int    `json:"score"`
	Comment string `json:"comment,omitempty"`
	// Operator served the rated handoff.
	Operator conversation.Operator `json:"operator"`
	// HandoffAt is when the rated handoff started: a conversation handed
	// off again later can be rated again.
	HandoffAt time.Time `json:"handoff_at"`
	At        time.Time `json:"at"`
}

// Errors of Rate.
var (
	// ErrNotRatable: no operator has finished serving the conversation.
	ErrNotRatable = errors.New("no operator has finished serving this conversation")
	// ErrAlreadyRated: the visitor rated this handoff before.
	ErrAlreadyRated = errors.New("this conversation was already rated")
)

// Ratable reports whether a conversation's last handoff was served by an
// operator and is over, so the visitor may rate it.
func Ratable(c Conversation) bool {
	h := c.Handoff
	return h != nil && !h.JoinedAt.IsZero() && h.Operator+h.Assignee != "" &&
		c.State != conversation.WaitingHuman && c.State != conversation.Human
}

func ratingKey(convID string, handoffAt time.Time) []byte {
	return messageKey(convID, uint64(handoffAt.UnixNano()))
}

// Rated reports whether the conversation's last handoff has been rated.
func (s *Store) Rated(c Conversation) bool {
	if c.Handoff == nil {
		return false
	}
	rated := false
	s.db.View(func(tx *bolt.Tx) error {
		rated = tx.Bucket(bucketRatings).Get(ratingKey(c.ID, c.Handoff.RequestedAt)) != nil
		return nil
	})
	return rated
}

// Rate stores the visitor's rating of the conversation's last handoff,
// with the operator who served it, and a private note in the transcript
// for the operators. It fails with ErrNotRatable while no operator has
// finished serving it, and ErrAlreadyRated the second time.
func (s *Store) Rate(ctx context.Context, convID string, score int, comment string) (Rating, error) {
	if score < 1 || score > 5 {
		return Rating{}, fmt.Errorf("rate %s: score %d is not 1 to 5", convID, score)
	}
	now := s.opts.Now().UTC()
	var r Rating
	err := s.Update(ctx, func(tx *Tx) error {
		c, err := getConversation(tx.Tx, convID)
		if err != nil {
			return err
		}
		if !Ratable(c) {
			return ErrNotRatable
		}
		key := ratingKey(convID, c.Handoff.RequestedAt)
		b := tx.Bucket(bucketRatings)
		if b.Get(key) != nil {
			return ErrAlreadyRated
		}
		r = Rating{
			ConversationID: convID, Score: score, Comment: comment,
			Operator:  conversation.Operator{ID: c.Handoff.Assignee, Name: c.Handoff.Operator},
			HandoffAt: c.Handoff.RequestedAt, At: now,
		}
		data, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if err := b.Put(key, data); err != nil {
			return err
		}
		note := fmt.Sprintf("The visitor rated the conversation %d/5.", score)
		if comment != "" {
			note += " “" + comment + "”"
		}
		return s.AppendMessageTx(tx, &Message{ConversationID: convID, Role: conversation.RoleSystem, Text: note, Private: true, CreatedAt: now})
	})
	if err != nil {
		return Rating{}, fmt.Errorf("rate %s: %w", convID, err)
	}
	return r, nil
}

// Ratings returns a conversation's ratings, oldest handoff first.
func (s *Store) Ratings(convID string) ([]Rating, error) {
	var out []Rating
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := messagePrefix(convID)
		c := tx.Bucket(bucketRatings).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var r Rating
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode rating of %s: %w", convID, err)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}
