package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/switchboard-chat/switchboard/sdk"
)

// errMalformed marks a body that is not a Telegram update.
var errMalformed = errors.New("malformed update")

// errNeedIdentity marks a group message that mentions someone while the
// bot's username is not known yet (getMe has not succeeded), so it cannot
// tell whether the message is addressed to it.
var errNeedIdentity = errors.New("bot username unknown")

// botIdentity is who the bot is, to recognise mentions and replies in
// groups. ID comes from the token; Username from getMe.
type botIdentity struct {
	ID       int64
	Username string
}

// unsupportedContent are the Message fields of content the daemon cannot
// show as text. A message with none of them and no text, photo or document
// is a service message (a member joined, a pin…) and yields no event.
var unsupportedContent = []string{
	"sticker", "voice", "video", "video_note", "audio", "animation", "location", "venue",
	"contact", "poll", "dice", "game", "story", "invoice", "paid_media", "checklist",
}

// parseUpdate turns one update (as a webhook body or an element of
// getUpdates) into events. It returns errMalformed (wrapped) for something
// that is not an update, and errNeedIdentity when it cannot decide yet.
func parseUpdate(raw []byte, bot botIdentity) ([]sdk.Event, error) {
	var u tgUpdate
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&u); err != nil {
		return nil, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the update", errMalformed)
	}
	if u.UpdateID == nil || *u.UpdateID <= 0 {
		return nil, fmt.Errorf("%w: no update_id", errMalformed)
	}
	id := strconv.FormatInt(*u.UpdateID, 10)
	switch {
	case u.Message != nil:
		if u.Message.Chat.ID == 0 {
			return nil, fmt.Errorf("%w: message without chat", errMalformed)
		}
		return messageEvents(id, u.Message, bot)
	case u.MyChatMember != nil:
		return memberEvents(id, u.MyChatMember), nil
	case u.CallbackQuery != nil:
		return callbackEvents(id, u.CallbackQuery), nil
	}
	// Edits, channel posts and other types: accepted, nothing to do (see
	// README.md).
	return nil, nil
}

// callbackEvents turns a press on one of the bot's inline keyboard buttons
// into a postback carrying the button's data. Presses under messages the
// bot cannot place in a chat, or without data, give nothing.
func callbackEvents(id string, q *tgCallbackQuery) []sdk.Event {
	m := q.Message
	if m == nil || m.Chat.ID == 0 || q.Data == "" || q.ID == "" {
		return nil
	}
	switch m.Chat.Type {
	case "private", "group", "supergroup":
	default:
		return nil
	}
	return []sdk.Event{{
		ID: id, Kind: sdk.KindPostback, Conversation: strconv.FormatInt(m.Chat.ID, 10),
		User: userOf(&q.From), Text: q.Data, Context: map[string]string{"chat_type": m.Chat.Type},
	}}
}

// callbackQueryID is the id of the callback query an update carries ("" for
// none) when it yields events: the plugin answers it (answerCallbackQuery)
// once they are committed, which stops the button's progress indicator.
// Only a press gives a postback, so other updates are not read again.
func callbackQueryID(raw []byte, events []sdk.Event) string {
	if len(events) != 1 || events[0].Kind != sdk.KindPostback {
		return ""
	}
	var u struct {
		CallbackQuery *struct {
			ID string `json:"id"`
		} `json:"callback_query"`
	}
	if json.Unmarshal(raw, &u) != nil || u.CallbackQuery == nil {
		return ""
	}
	return u.CallbackQuery.ID
}

// messageEvents handles a new message.
func messageEvents(id string, m *tgMessage, bot botIdentity) ([]sdk.Event, error) {
	text, entities := m.Text, m.Entities
	if text == "" {
		text, entities = m.Caption, m.CaptionEntities
	}
	switch m.Chat.Type {
	case "private":
	case "group", "supergroup":
		ok, err := addressed(m, text, entities, bot)
		if err != nil || !ok {
			return nil, err
		}
		text = stripMentions(text, entities, bot)
	default: // channels and anything new: not a customer conversation
		return nil, nil
	}
	ev := sdk.Event{
		ID:           id,
		Conversation: strconv.FormatInt(m.Chat.ID, 10),
		User:         sender(m),
		Context:      map[string]string{"chat_type": m.Chat.Type, "message_id": strconv.FormatInt(m.MessageID, 10)},
	}
	if m.Date > 0 {
		ev.Time = time.Unix(m.Date, 0).UTC()
	}
	if m.IsTopicMessage && m.MessageThreadID != 0 {
		ev.Context["thread_id"] = strconv.FormatInt(m.MessageThreadID, 10)
	}
	if payload, ok := startCommand(m.Text, bot); ok {
		ev.Kind = sdk.KindFollow
		if payload != "" {
			ev.Context["start_payload"] = payload
		}
		return []sdk.Event{ev}, nil
	}
	switch {
	case len(m.Photo) > 0:
		// Sizes come smallest first; the last is the original.
		p := m.Photo[len(m.Photo)-1]
		ev.Kind, ev.Text = sdk.KindMessage, text
		// Telegram stores photos as JPEG.
		ev.Attachments = []sdk.Attachment{{Type: "photo", ID: p.FileID, MIMEType: "image/jpeg", Size: p.FileSize}}
	case m.Document != nil:
		d := m.Document
		ev.Kind, ev.Text = sdk.KindMessage, text
		ev.Attachments = []sdk.Attachment{{Type: "document", ID: d.FileID, Name: d.FileName, MIMEType: d.MimeType, Size: d.FileSize}}
	case strings.TrimSpace(m.Text) != "":
		ev.Kind, ev.Text = sdk.KindMessage, text
	case m.hasAny(unsupportedContent):
		ev.Kind, ev.Text = sdk.KindUnsupported, text
	default:
		return nil, nil
	}
	if ev.Kind == sdk.KindMessage && ev.Text == "" && len(ev.Attachments) == 0 {
		return nil, nil // a group message that was only the bot's @mention
	}
	return []sdk.Event{ev}, nil
}

// memberEvents turns the bot's own membership change into an unfollow when
// a user blocks the bot in a private chat ("kicked").
func memberEvents(id string, u *tgChatMemberUpdated) []sdk.Event {
	if u.Chat.Type != "private" || u.NewChatMember.Status != "kicked" || u.Chat.ID == 0 {
		return nil
	}
	ev := sdk.Event{
		ID: id, Kind: sdk.KindUnfollow, Conversation: strconv.FormatInt(u.Chat.ID, 10),
		User: userOf(&u.From), Context: map[string]string{"chat_type": "private"},
	}
	if u.Date > 0 {
		ev.Time = time.Unix(u.Date, 0).UTC()
	}
	return []sdk.Event{ev}
}

// startCommand reports whether text is /start (or /start@<this bot>),
// with its deep-link payload.
func startCommand(text string, bot botIdentity) (payload string, ok bool) {
	cmd, rest, _ := strings.Cut(text, " ")
	name, target, hasTarget := strings.Cut(cmd, "@")
	if name != "/start" || (hasTarget && !strings.EqualFold(target, bot.Username)) {
		return "", false
	}
	return strings.TrimSpace(rest), true
}

// addressed reports whether a group message is for the bot: a reply to
// one of its messages, an @mention of it, a text_mention of it, or a
// /command@bot.
func addressed(m *tgMessage, text string, entities []tgEntity, bot botIdentity) (bool, error) {
	if r := m.ReplyToMessage; r != nil && r.From != nil && r.From.ID == bot.ID {
		return true, nil
	}
	units := utf16.Encode([]rune(text))
	unknown := false
	for _, e := range entities {
		switch e.Type {
		case "text_mention":
			if e.User != nil && e.User.ID == bot.ID {
				return true, nil
			}
		case "mention", "bot_command":
			s, ok := entityText(units, e)
			if !ok {
				continue
			}
			_, target, has := strings.Cut(s, "@")
			if !has {
				continue
			}
			if bot.Username == "" {
				unknown = true
				continue
			}
			if strings.EqualFold(target, bot.Username) {
				return true, nil
			}
		}
	}
	if unknown {
		return false, errNeedIdentity
	}
	return false, nil
}

// stripMentions removes the bot's @mentions from a group message's text.
func stripMentions(text string, entities []tgEntity, bot botIdentity) string {
	if bot.Username == "" {
		return text
	}
	units := utf16.Encode([]rune(text))
	drop := make([]bool, len(units))
	for _, e := range entities {
		if e.Type != "mention" {
			continue
		}
		if s, ok := entityText(units, e); ok && strings.EqualFold(s, "@"+bot.Username) {
			for i := e.Offset; i < e.Offset+e.Length; i++ {
				drop[i] = true
			}
		}
	}
	kept := make([]uint16, 0, len(units))
	for i, u := range units {
		if !drop[i] {
			kept = append(kept, u)
		}
	}
	return strings.Join(strings.Fields(string(utf16.Decode(kept))), " ")
}

// entityText is the text an entity covers, if its range is valid.
func entityText(units []uint16, e tgEntity) (string, bool) {
	if e.Offset < 0 || e.Length <= 0 || e.Offset > len(units) || e.Length > len(units)-e.Offset {
		return "", false
	}
	return string(utf16.Decode(units[e.Offset : e.Offset+e.Length])), true
}

// sender is who wrote m: the user, or the chat it was sent on behalf of
// (anonymous group admins, channels).
func sender(m *tgMessage) sdk.User {
	switch {
	case m.From != nil && m.SenderChat == nil:
		return userOf(m.From)
	case m.SenderChat != nil:
		return sdk.User{ID: strconv.FormatInt(m.SenderChat.ID, 10), Name: m.SenderChat.Title}
	}
	return sdk.User{ID: strconv.FormatInt(m.Chat.ID, 10), Name: m.Chat.Title}
}

func userOf(u *tgUser) sdk.User {
	name := strings.TrimSpace(u.FirstName + " " + u.LastName)
	if name == "" {
		name = u.Username
	}
	return sdk.User{ID: strconv.FormatInt(u.ID, 10), Name: name}
}
