package routing

import (
	"slices"

	"github.com/abadojack/whatlanggo"
)

// languages are the languages the detector tells apart, by ISO 639-1
// code. Limiting it to them keeps a short English line from being taken
// for one of the 80 others the detector knows.
var languages = map[whatlanggo.Lang]string{
	whatlanggo.Eng: "en", whatlanggo.Cmn: "zh", whatlanggo.Jpn: "ja", whatlanggo.Kor: "ko",
	whatlanggo.Tha: "th", whatlanggo.Vie: "vi", whatlanggo.Ind: "id", whatlanggo.Spa: "es",
	whatlanggo.Fra: "fr", whatlanggo.Deu: "de", whatlanggo.Por: "pt", whatlanggo.Rus: "ru",
	whatlanggo.Arb: "ar", whatlanggo.Hin: "hi",
}

var detectOptions = func() whatlanggo.Options {
	w := map[whatlanggo.Lang]bool{}
	for l := range languages {
		w[l] = true
	}
	return whatlanggo.Options{Whitelist: w}
}()

// minConfidence is the detector's confidence below which a language is
// not taken (a line too short or too mixed to tell).
const minConfidence = 0.3

// Languages lists the ISO 639-1 codes Detect returns, sorted.
func Languages() []string {
	out := make([]string, 0, len(languages))
	for _, c := range languages {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// Detect returns the ISO 639-1 code of text's language, or "" when it
// cannot tell.
func Detect(text string) string {
	if text == "" {
		return ""
	}
	info := whatlanggo.DetectWithOptions(text, detectOptions)
	code, ok := languages[info.Lang]
	if !ok || info.Confidence < minConfidence {
		return ""
	}
	return code
}
