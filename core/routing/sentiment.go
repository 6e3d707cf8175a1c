package routing

import (
	"strings"
	"unicode"
)

// angryTerms are words of clearly angry or negative customers, in the
// languages the detector knows best. A handoff with one, and no priority
// from the model, is served before the calm ones.
var angryTerms = []string{
	// English
	"angry", "furious", "unacceptable", "ridiculous", "terrible", "horrible", "worst", "awful", "disgusting",
	"useless", "scam", "fraud", "lawyer", "sue you", "complaint", "outrageous", "fed up", "sick of", "hate",
	"wtf", "pathetic", "incompetent",
	// Chinese
	"生气", "愤怒", "垃圾", "骗子", "投诉", "太差", "差劲", "气死", "坑人", "忍无可忍", "太过分",
	// Japanese
	"ふざけるな", "最悪", "詐欺", "怒",
	// Korean
	"최악", "화가", "사기",
	// Thai
	"โกรธ", "แย่มาก", "โกง", "ผิดหวัง",
	// Vietnamese
	"tức giận", "lừa đảo", "quá tệ", "thất vọng",
	// Indonesian
	"marah", "kecewa", "penipu", "parah", "mengecewakan",
}

// Angry reports whether any of the lines is clearly angry: an angry
// word, or shouting (a line of at least ten letters all in capitals, or
// three exclamation marks in a row).
func Angry(lines []string) bool {
	for _, l := range lines {
		if containsAny(l, angryTerms) || shouting(l) {
			return true
		}
	}
	return false
}

func shouting(l string) bool {
	if strings.Contains(l, "!!!") || strings.Contains(l, "！！！") {
		return true
	}
	letters := 0
	for _, r := range l {
		if unicode.IsLower(r) {
			return false
		}
		if unicode.IsUpper(r) {
			letters++
		}
	}
	return letters >= 10
}
