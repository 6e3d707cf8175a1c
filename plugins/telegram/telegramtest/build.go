package telegramtest

import (
	"bytes"
	"net/http"
	"strings"
	"time"
)

// SecretHeader is the header Telegram puts setWebhook's secret_token in.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// Visitor is a private-chat user for building updates; in a private chat
// the chat id is the user id.
func Visitor(id int64, firstName string) User {
	return User{ID: id, FirstName: firstName, LanguageCode: "en"}
}

// PrivateChat is the private chat with u.
func PrivateChat(u User) Chat {
	return Chat{ID: u.ID, Type: "private", FirstName: u.FirstName, LastName: u.LastName, Username: u.Username}
}

// GroupChat is a supergroup with the given (negative) id.
func GroupChat(id int64, title string) Chat {
	return Chat{ID: id, Type: "supergroup", Title: title}
}

// TextMessage is a text message from u in chat. Entities for a leading
// /command and for @mentions are filled in as Telegram would.
func TextMessage(messageID int64, chat Chat, from User, text string) *Message {
	return &Message{
		MessageID: messageID, From: &from, Date: time.Now().Unix(), Chat: chat,
		Text: text, Entities: Entities(text),
	}
}

// TextUpdate is an update with a text message from u in the private chat
// with u.
func TextUpdate(updateID int64, from User, text string) Update {
	return Update{UpdateID: updateID, Message: TextMessage(updateID, PrivateChat(from), from, text)}
}

// Entities finds the bot_command at the start of text and every @mention,
// with offsets and lengths in UTF-16 code units.
func Entities(text string) []MessageEntity {
	var out []MessageEntity
	offset := 0 // UTF-16 units
	words := strings.SplitAfter(text, " ")
	for i, w := range words {
		word := strings.TrimRight(w, " \n")
		switch {
		case i == 0 && strings.HasPrefix(word, "/") && len(word) > 1:
			out = append(out, MessageEntity{Type: "bot_command", Offset: offset, Length: utf16Len(word)})
		case strings.HasPrefix(word, "@") && len(word) > 1:
			out = append(out, MessageEntity{Type: "mention", Offset: offset, Length: utf16Len(word)})
		}
		offset += utf16Len(w)
	}
	return out
}

// WebhookRequest builds the POST Telegram makes to a webhook url for u,
// with secret in the X-Telegram-Bot-Api-Secret-Token header ("" for none).
func WebhookRequest(url, secret string, u Update) *http.Request {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(u.JSON()))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set(SecretHeader, secret)
	}
	return req
}

// PostUpdate delivers u to a webhook url like Telegram does and returns the
// status code.
func PostUpdate(url, secret string, u Update) (int, error) {
	resp, err := http.DefaultClient.Do(WebhookRequest(url, secret, u))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
