package telegramtest

import (
	"encoding/json"
	"unicode/utf16"
)

// The Bot API objects the fake serves and the helpers build, as documented
// at https://core.telegram.org/bots/api#available-types. Only the fields the
// fake needs are declared; every optional field is omitted when empty, as
// Telegram does.

// User is a Telegram user or bot (https://core.telegram.org/bots/api#user).
type User struct {
	ID                      int64  `json:"id"`
	IsBot                   bool   `json:"is_bot"`
	FirstName               string `json:"first_name"`
	LastName                string `json:"last_name,omitempty"`
	Username                string `json:"username,omitempty"`
	LanguageCode            string `json:"language_code,omitempty"`
	CanJoinGroups           bool   `json:"can_join_groups,omitempty"`
	CanReadAllGroupMessages bool   `json:"can_read_all_group_messages,omitempty"`
	SupportsInlineQueries   bool   `json:"supports_inline_queries,omitempty"`
}

// Chat is a chat (https://core.telegram.org/bots/api#chat). Type is one of
// "private", "group", "supergroup" or "channel".
type Chat struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Title     string `json:"title,omitempty"`
	Username  string `json:"username,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	IsForum   bool   `json:"is_forum,omitempty"`
}

// MessageEntity is a special entity in a text (https://core.telegram.org/bots/api#messageentity).
// Offset and Length are in UTF-16 code units.
type MessageEntity struct {
	Type   string `json:"type"`
	Offset int    `json:"offset"`
	Length int    `json:"length"`
	User   *User  `json:"user,omitempty"`
}

// PhotoSize is one size of a photo (https://core.telegram.org/bots/api#photosize).
type PhotoSize struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	FileSize     int64  `json:"file_size,omitempty"`
}

// Document is a general file (https://core.telegram.org/bots/api#document).
type Document struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	FileName     string `json:"file_name,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int64  `json:"file_size,omitempty"`
}

// Sticker is a sticker (https://core.telegram.org/bots/api#sticker).
type Sticker struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Type         string `json:"type"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	IsAnimated   bool   `json:"is_animated"`
	IsVideo      bool   `json:"is_video"`
	Emoji        string `json:"emoji,omitempty"`
}

// Voice is a voice note (https://core.telegram.org/bots/api#voice).
type Voice struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Duration     int    `json:"duration"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int64  `json:"file_size,omitempty"`
}

// Message is a message (https://core.telegram.org/bots/api#message).
type Message struct {
	MessageID       int64           `json:"message_id"`
	MessageThreadID int64           `json:"message_thread_id,omitempty"`
	From            *User           `json:"from,omitempty"`
	SenderChat      *Chat           `json:"sender_chat,omitempty"`
	Date            int64           `json:"date"`
	Chat            Chat            `json:"chat"`
	IsTopicMessage  bool            `json:"is_topic_message,omitempty"`
	ReplyToMessage  *Message        `json:"reply_to_message,omitempty"`
	EditDate        int64           `json:"edit_date,omitempty"`
	Text            string          `json:"text,omitempty"`
	Entities        []MessageEntity `json:"entities,omitempty"`
	Caption         string          `json:"caption,omitempty"`
	CaptionEntities []MessageEntity `json:"caption_entities,omitempty"`
	Photo           []PhotoSize     `json:"photo,omitempty"`
	Document        *Document       `json:"document,omitempty"`
	Sticker         *Sticker        `json:"sticker,omitempty"`
	Voice           *Voice          `json:"voice,omitempty"`
	NewChatMembers  []User          `json:"new_chat_members,omitempty"`
	ReplyMarkup     *ReplyMarkup    `json:"reply_markup,omitempty"`
}

// ReplyMarkup is the reply_markup of sendMessage: an InlineKeyboardMarkup
// (https://core.telegram.org/bots/api#inlinekeyboardmarkup), a
// ReplyKeyboardMarkup (#replykeyboardmarkup), a ReplyKeyboardRemove or a
// ForceReply, told apart by their fields.
type ReplyMarkup struct {
	InlineKeyboard  [][]InlineKeyboardButton `json:"inline_keyboard,omitempty"`
	Keyboard        [][]KeyboardButton       `json:"keyboard,omitempty"`
	OneTimeKeyboard bool                     `json:"one_time_keyboard,omitempty"`
	ResizeKeyboard  bool                     `json:"resize_keyboard,omitempty"`
	RemoveKeyboard  bool                     `json:"remove_keyboard,omitempty"`
	ForceReply      bool                     `json:"force_reply,omitempty"`
}

// InlineKeyboardButton is a button under a message
// (https://core.telegram.org/bots/api#inlinekeyboardbutton); pressing one
// with CallbackData sends a callback_query.
type InlineKeyboardButton struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data,omitempty"`
	URL          string `json:"url,omitempty"`
}

// KeyboardButton is a button of a reply keyboard
// (https://core.telegram.org/bots/api#keyboardbutton): pressing it sends
// its text as a message.
type KeyboardButton struct {
	Text string `json:"text"`
}

// ChatMember is the part of https://core.telegram.org/bots/api#chatmember
// the fake uses: the status ("member", "kicked", …) and the user.
type ChatMember struct {
	Status string `json:"status"`
	User   User   `json:"user"`
}

// ChatMemberUpdated is a change of a chat member's status
// (https://core.telegram.org/bots/api#chatmemberupdated); my_chat_member
// updates carry the bot's own status, "kicked" in a private chat meaning
// the user blocked the bot.
type ChatMemberUpdated struct {
	Chat          Chat       `json:"chat"`
	From          User       `json:"from"`
	Date          int64      `json:"date"`
	OldChatMember ChatMember `json:"old_chat_member"`
	NewChatMember ChatMember `json:"new_chat_member"`
}

// CallbackQuery is a press on an inline keyboard button
// (https://core.telegram.org/bots/api#callbackquery).
type CallbackQuery struct {
	ID           string   `json:"id"`
	From         User     `json:"from"`
	Message      *Message `json:"message,omitempty"`
	ChatInstance string   `json:"chat_instance"`
	Data         string   `json:"data,omitempty"`
}

// Update is an incoming update (https://core.telegram.org/bots/api#update):
// an update_id and at most one of the optional fields.
type Update struct {
	UpdateID      int64              `json:"update_id"`
	Message       *Message           `json:"message,omitempty"`
	EditedMessage *Message           `json:"edited_message,omitempty"`
	ChannelPost   *Message           `json:"channel_post,omitempty"`
	CallbackQuery *CallbackQuery     `json:"callback_query,omitempty"`
	MyChatMember  *ChatMemberUpdated `json:"my_chat_member,omitempty"`
	ChatMember    *ChatMemberUpdated `json:"chat_member,omitempty"`
}

// Type is the update's type as named in allowed_updates: the name of its
// one optional field.
func (u Update) Type() string {
	switch {
	case u.Message != nil:
		return "message"
	case u.EditedMessage != nil:
		return "edited_message"
	case u.ChannelPost != nil:
		return "channel_post"
	case u.CallbackQuery != nil:
		return "callback_query"
	case u.MyChatMember != nil:
		return "my_chat_member"
	case u.ChatMember != nil:
		return "chat_member"
	}
	return ""
}

// JSON encodes the update as Telegram sends it.
func (u Update) JSON() []byte {
	b, err := json.Marshal(u)
	if err != nil {
		panic(err) // only plain fields: cannot fail
	}
	return b
}

// WebhookInfo is the result of getWebhookInfo
// (https://core.telegram.org/bots/api#webhookinfo).
type WebhookInfo struct {
	URL                  string   `json:"url"`
	HasCustomCertificate bool     `json:"has_custom_certificate"`
	PendingUpdateCount   int      `json:"pending_update_count"`
	MaxConnections       int      `json:"max_connections,omitempty"`
	AllowedUpdates       []string `json:"allowed_updates,omitempty"`
	// SecretToken is not part of Telegram's answer; the fake records it so
	// tests can check what the bot set.
	SecretToken string `json:"-"`
	// DropPendingUpdates is the drop_pending_updates the bot passed.
	DropPendingUpdates bool `json:"-"`
}

// utf16Len is the length of s in UTF-16 code units, the unit Telegram
// counts entity offsets (and message lengths) in.
func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }
