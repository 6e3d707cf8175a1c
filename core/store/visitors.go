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
	"github.com/switchboard-chat/switchboard/core/events"
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
		k, v := seekLast(c, convID)
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

// Satisfaction ratings: bucket ratings holds, by conversation and the
// start of the rated handoff, the question asked after an operator's
// close (Score 0) and then the visitor's answer. Records written before
// the daemon asked (the web chat's stars alone) have no AskedAt.

// Rating is a visitor's verdict on the operator who served a handoff, or
// the question still waiting for it (Score 0).
type Rating struct {
	ConversationID string `json:"conversation_id"`
	Channel        string `json:"channel,omitempty"`
	// Score is 1 (poor) to 5 (excellent); 0 while unanswered.
	Score   int    `json:"score"`
	Comment string `json:"comment,omitempty"`
	// Operator served the rated handoff.
	Operator conversation.Operator `json:"operator"`
	// HandoffAt is when the rated handoff started: a conversation handed
	// off again later is rated again.
	HandoffAt time.Time `json:"handoff_at"`
	// AskedAt is when the visitor was asked; At when they answered.
	AskedAt time.Time `json:"asked_at,omitzero"`
	At      time.Time `json:"at,omitzero"`
}

// Asked is when the visitor was asked for the rating: AskedAt, or for a
// rating stored before the daemon asked, when it was given.
func (r Rating) Asked() time.Time {
	if r.AskedAt.IsZero() {
		return r.At
	}
	return r.AskedAt
}

// ErrAlreadyRated: the handoff was rated before.
var ErrAlreadyRated = errors.New("this conversation was already rated")

func ratingKey(convID string, handoffAt time.Time) []byte {
	return messageKey(convID, uint64(handoffAt.UnixNano()))
}

func getRating(tx *bolt.Tx, key []byte) (Rating, bool, error) {
	v := tx.Bucket(bucketRatings).Get(key)
	if v == nil {
		return Rating{}, false, nil
	}
	var r Rating
	if err := json.Unmarshal(v, &r); err != nil {
		return Rating{}, false, fmt.Errorf("decode rating %x: %w", key, err)
	}
	return r, true, nil
}

func putRating(tx *bolt.Tx, r *Rating) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketRatings).Put(ratingKey(r.ConversationID, r.HandoffAt), data)
}

// AskRatingTx records that the visitor of c was asked to rate the handoff
// of req. Asking about a handoff already asked about or rated changes
// nothing.
func AskRatingTx(tx *Tx, c *Conversation, req conversation.RatingRequest) error {
	key := ratingKey(c.ID, req.HandoffAt)
	if _, ok, err := getRating(tx.Tx, key); err != nil || ok {
		return err
	}
	return putRating(tx.Tx, &Rating{
		ConversationID: c.ID, Channel: c.Channel, Operator: req.Operator,
		HandoffAt: req.HandoffAt.UTC(), AskedAt: req.AskedAt.UTC(),
	})
}

// RateTx stores the visitor's answer to the rating question req about c,
// and records csat.submitted. A handoff is rated once: a second answer
// fails with ErrAlreadyRated and changes nothing.
func RateTx(tx *Tx, c *Conversation, req conversation.RatingRequest, score int, comment string) (Rating, error) {
	if score < 1 || score > 5 {
		return Rating{}, fmt.Errorf("rate %s: score %d is not 1 to 5", c.ID, score)
	}
	key := ratingKey(c.ID, req.HandoffAt)
	r, ok, err := getRating(tx.Tx, key)
	if err != nil {
		return Rating{}, err
	}
	if ok && r.Score != 0 {
		return Rating{}, fmt.Errorf("rate %s: %w", c.ID, ErrAlreadyRated)
	}
	if !ok {
		r = Rating{ConversationID: c.ID, Channel: c.Channel, Operator: req.Operator, HandoffAt: req.HandoffAt.UTC(), AskedAt: req.AskedAt.UTC()}
	}
	r.Score, r.Comment, r.At = score, comment, tx.st.opts.Now().UTC()
	if err := putRating(tx.Tx, &r); err != nil {
		return Rating{}, err
	}
	_, err = EmitTx(tx, c.Subject(), events.CSATSubmitted{
		Score: score, Comment: comment, Operator: events.OperatorOf(r.Operator), HandoffAt: r.HandoffAt,
	})
	return r, err
}

// Ratings returns a conversation's ratings and questions, oldest handoff
// first.
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

// ScanRatings calls fn with every rating and question, in one read
// transaction; an error from fn stops the scan and is returned as is.
func (s *Store) ScanRatings(fn func(r Rating) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRatings).ForEach(func(k, v []byte) error {
			var r Rating
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode rating %x: %w", k, err)
			}
			return fn(r)
		})
	})
}
