package main

import "encoding/json"

// The Bot API objects the plugin reads (https://core.telegram.org/bots/api#available-types).
// Unknown fields are ignored: Telegram adds fields with every API version.

// tgUser is https://core.telegram.org/bots/api#user.
type tgUser struct {
	ID        int64  `json:"id"`
	IsBot     bool   `json:"is_bot"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Username  string `json:"username"`
}

// tgChat is https://core.telegram.org/bots/api#chat.
type tgChat struct {
	ID    int64  `json:"id"`
	Type  string `json:"type"` // private, group, supergroup, channel
	Title string `json:"title"`
}

// tgEntity is https://core.telegram.org/bots/api#messageentity; Offset and
// Length count UTF-16 code units.
type tgEntity struct {
	Type   string  `json:"type"`
	Offset int     `json:"offset"`
	Length int     `json:"length"`
	User   *tgUser `json:"user"`
}

// tgPhotoSize is https://core.telegram.org/bots/api#photosize.
type tgPhotoSize struct {
	FileID   string `json:"file_id"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	FileSize int64  `json:"file_size"`
}

// tgDocument is https://core.telegram.org/bots/api#document.
type tgDocument struct {
	FileID   string `json:"file_id"`
	FileName string `json:"file_name"`
	MimeType string `json:"mime_type"`
	FileSize int64  `json:"file_size"`
}

// tgMessage is https://core.telegram.org/bots/api#message, with the fields
// the plugin uses; raw keeps the message as it came, to tell the content
// kinds the plugin does not read apart.
type tgMessage struct {
	MessageID       int64         `json:"message_id"`
	MessageThreadID int64         `json:"message_thread_id"`
	IsTopicMessage  bool          `json:"is_topic_message"`
	From            *tgUser       `json:"from"`
	SenderChat      *tgChat       `json:"sender_chat"`
	Date            int64         `json:"date"`
	Chat            tgChat        `json:"chat"`
	ReplyToMessage  *tgMessage    `json:"reply_to_message"`
	Text            string        `json:"text"`
	Entities        []tgEntity    `json:"entities"`
	Caption         string        `json:"caption"`
	CaptionEntities []tgEntity    `json:"caption_entities"`
	Photo           []tgPhotoSize `json:"photo"`
	Document        *tgDocument   `json:"document"`

	raw json.RawMessage
}

// UnmarshalJSON decodes the known fields and keeps a copy of the message.
func (m *tgMessage) UnmarshalJSON(b []byte) error {
	type plain tgMessage
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	p.raw = append(json.RawMessage(nil), b...)
	*m = tgMessage(p)
	return nil
}

// hasAny reports whether the message has a non-null field named by one of
// keys. It decodes the raw message again, so it is for the rare messages
// that carry none of the fields the plugin reads.
func (m *tgMessage) hasAny(keys []string) bool {
	var fields map[string]json.RawMessage
	if json.Unmarshal(m.raw, &fields) != nil {
		return false
	}
	for _, k := range keys {
		if v, ok := fields[k]; ok && string(v) != "null" {
			return true
		}
	}
	return false
}

// tgChatMember is the part of https://core.telegram.org/bots/api#chatmember
// the plugin reads.
type tgChatMember struct {
	Status string `json:"status"`
}

// tgChatMemberUpdated is https://core.telegram.org/bots/api#chatmemberupdated.
type tgChatMemberUpdated struct {
	Chat          tgChat       `json:"chat"`
	From          tgUser       `json:"from"`
	Date          int64        `json:"date"`
	NewChatMember tgChatMember `json:"new_chat_member"`
}

// tgUpdate is https://core.telegram.org/bots/api#update: an update_id and
// at most one of the optional fields. The ones the plugin does not handle
// are kept only to be recognised.
type tgUpdate struct {
	UpdateID      *int64               `json:"update_id"`
	Message       *tgMessage           `json:"message"`
	EditedMessage json.RawMessage      `json:"edited_message"`
	CallbackQuery *tgCallbackQuery     `json:"callback_query"`
	MyChatMember  *tgChatMemberUpdated `json:"my_chat_member"`
}

// tgCallbackQuery is https://core.telegram.org/bots/api#callbackquery: a
// press on an inline keyboard button. Message is the message the button
// was under (absent for inline-mode messages).
type tgCallbackQuery struct {
	ID      string     `json:"id"`
	From    tgUser     `json:"from"`
	Message *tgMessage `json:"message"`
	Data    string     `json:"data"`
}

// allowedUpdates are the update types the plugin asks for in setWebhook and
// getUpdates. Edits are left out: see README.md.
func allowedUpdates() []string { return []string{"message", "callback_query", "my_chat_member"} }
