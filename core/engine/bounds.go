package engine

import (
	"fmt"
	"unicode/utf8"

	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/sdk"
)

// Byte bounds of what a handoff or a model turn hands to a plugin, so the
// call fits the plugin connection however long the visitor's messages were.
const (
	// lineBytes caps the text of one transcript line given to a desk or a
	// model; a longer one is cut and marked.
	lineBytes = 16 << 10
	// deskTranscriptBytes caps the texts of a desk's transcript together:
	// the newest lines are kept, the older ones counted in a note.
	deskTranscriptBytes = 64 << 10
	// summaryNameRunes caps the visitor's name in a handoff summary.
	summaryNameRunes = 100
	// summaryReasonRunes caps the handoff's reason in its summary.
	summaryReasonRunes = 200
)

// clip cuts s to at most n bytes on a character boundary, marked with how
// much was left out.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… [%d more bytes]", len(s)-cut)
}

// boundTranscript keeps the newest entries whose texts fit in budget bytes,
// each clipped to lineBytes, behind a system note counting the older ones
// left out.
func boundTranscript(entries []sdk.TranscriptEntry, budget int) []sdk.TranscriptEntry {
	used, first := 0, len(entries)
	for first > 0 {
		text := clip(entries[first-1].Text, lineBytes)
		if used+len(text) > budget {
			break
		}
		used += len(text)
		first--
	}
	out := make([]sdk.TranscriptEntry, 0, len(entries)-first+1)
	if first > 0 {
		at := entries[first-1].Time
		note := "1 earlier message not shown"
		if first > 1 {
			note = fmt.Sprintf("%d earlier messages not shown", first)
		}
		out = append(out, sdk.TranscriptEntry{Role: string(conversation.RoleSystem), Text: note, Time: at})
	}
	for _, e := range entries[first:] {
		e.Text = clip(e.Text, lineBytes)
		out = append(out, e)
	}
	return out
}
