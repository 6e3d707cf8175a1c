package kb

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/english"
	"golang.org/x/text/unicode/norm"
)

// analyzerVersion names the analysis below. The postings are derived from
// it, so an index written with another version is rebuilt from the stored
// chunks when the knowledge base opens.
const analyzerVersion = "12"

// token is one term of an analysed text.
type token struct {
	// term is the indexed form: a stemmed, lower-cased word, or a CJK
	// bigram (or a lone CJK character).
	term string
	// cjk marks terms from runs of Chinese, Japanese or Korean characters.
	cjk bool
	// uni marks a single CJK character.
	uni bool
	// start is the rune offset of the term's first character in the
	// normalised text; a CJK bigram covers start and start+1.
	start int
}

// analyze splits text into terms.
//
// Latin and other space-separated scripts are split into words of letters
// and digits, lower-cased, stripped of English stop words and stemmed with
// the Snowball English stemmer (a no-op on words it does not know). Text
// in Chinese, Japanese or Korean has no spaces between words, so each run
// of such characters becomes its overlapping character bigrams ("退货政策"
// gives 退货 货政 政策), the approach of Lucene's CJK analyzer: it needs no
// dictionary and finds every two-character word. Each character is a term
// too (Lucene's "output unigrams"), so the many one-character words of
// spoken Chinese (退, 换, 寄) still match; searches weigh them less than
// bigrams. Width variants are folded first (NFKC), so
// full-width Latin letters and digits match their ASCII forms.
func analyze(text string) []token {
	toks, _ := analyzeMarked(text)
	return toks
}

// analyzeMarked is analyze that also returns the rune offsets of the CJK
// characters it left out as stop characters or parts of stop bigrams:
// they carry no topic, so answering treats them as understood.
func analyzeMarked(text string) ([]token, map[int]bool) {
	text = synonyms.chinese.Replace(norm.NFKC.String(text))
	var out []token
	stopped := map[int]bool{}
	var word strings.Builder
	var run []rune // pending CJK characters
	runStart := 0
	stemmer := snowballstem.NewEnv("")
	// lastWord is the previous word when nothing but spaces came since,
	// and lastTok the index of its token in out (-1: it had none), for
	// two-word synonyms.
	lastWord, lastTok := "", -1
	// before are the up to maxParticleGap words before lastWord, in the
	// same way, for phrasal verbs split by their object ("send it back").
	type wordTok struct {
		word string
		tok  int
	}
	var before []wordTok
	fold := func(tok int, canon string, pos int) {
		if tok >= 0 {
			out[tok].term = canon
		} else {
			out = append(out, token{term: canon, start: pos})
		}
		lastWord, lastTok, before = "", -1, nil
	}
	flushWord := func(pos int) {
		if word.Len() == 0 {
			return
		}
		w := word.String()
		word.Reset()
		// key is the word as two-word synonyms see it: its stem, folded.
		key := w
		if isASCIILetters(w) {
			stemmer.SetCurrent(w)
			english.Stem(stemmer)
			key = synonyms.fold(stemmer.Current())
		}
		if canon, ok := synonyms.phrases[lastWord+" "+key]; ok && lastWord != "" {
			fold(lastTok, canon, pos)
			return
		}
		if particles[w] {
			for _, b := range before {
				if canon, ok := synonyms.phrases[b.word+" "+key]; ok {
					fold(b.tok, canon, pos)
					return
				}
			}
		}
		if lastWord != "" {
			before = append(before, wordTok{lastWord, lastTok})
			if len(before) > maxParticleGap {
				before = before[1:]
			}
		}
		lastWord, lastTok = key, -1
		if isStopWord(w) {
			return
		}
		if canon, ok := synonyms.exact[w]; ok {
			w = canon
		} else {
			w = key
		}
		lastTok = len(out)
		out = append(out, token{term: w, start: pos})
	}
	flushRun := func() {
		for i := 0; i+1 < len(run); i++ {
			bg := string(run[i : i+2])
			if isStopBigram(bg) {
				stopped[runStart+i], stopped[runStart+i+1] = true, true
				continue
			}
			out = append(out, token{term: bg, cjk: true, start: runStart + i})
		}
		for i, r := range run {
			if isStopChar(r) {
				stopped[runStart+i] = true
			}
			if !stopped[runStart+i] {
				out = append(out, token{term: string(r), cjk: true, uni: true, start: runStart + i})
			}
		}
		run = run[:0]
	}
	pos, wordStart, skip := 0, 0, 0
	var prev rune
	for i, r := range text {
		if skip > 0 {
			skip--
			pos++
			continue
		}
		switch {
		case isCJK(r):
			flushWord(wordStart)
			lastWord, lastTok, before = "", -1, nil
			if len(run) == 0 {
				runStart = pos
			}
			run = append(run, r)
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			flushRun()
			if word.Len() == 0 {
				wordStart = pos
			}
			word.WriteRune(unicode.ToLower(r))
		case (r == '\'' || r == '’') && word.Len() > 0 && unicode.IsLetter(prev) && nextIsLetter(text[i+utf8.RuneLen(r):]):
			// Contractions: where's → where, you're → you, we'll → we;
			// don't → dont (a stop word, like its spelling without the
			// apostrophe).
			rest := text[i+utf8.RuneLen(r):]
			if n := contractionSuffix(rest); n > 0 {
				flushWord(wordStart)
				skip = n
			}
		default:
			flushWord(wordStart)
			flushRun()
			if !unicode.IsSpace(r) {
				lastWord, lastTok, before = "", -1, nil
			}
		}
		prev = r
		pos++
	}
	flushWord(wordStart)
	flushRun()
	return out, stopped
}

// particles end phrasal verbs that may be split by their object: "send
// it back", "call the order off".
var particles = map[string]bool{"back": true, "out": true, "off": true}

// maxParticleGap is how many words may split a phrasal verb.
const maxParticleGap = 2

// contractionSuffix returns the length in runes of a contraction's ending
// ('s, 're, 'll, 've, 'd, 'm) at the start of s, after the apostrophe, or
// 0.
func contractionSuffix(s string) int {
	for _, suf := range []string{"s", "re", "ll", "ve", "d", "m"} {
		if len(s) >= len(suf) && strings.EqualFold(s[:len(suf)], suf) && !nextIsLetter(s[len(suf):]) {
			return len(suf)
		}
	}
	return 0
}

func nextIsLetter(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsLetter(r)
}

// isCJK reports whether r belongs to a script written without spaces
// between words (Han, Hiragana, Katakana) or one whose words are short
// enough to bigram too (Hangul).
func isCJK(r rune) bool {
	return r == 'ー' || r == '々' || unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

func isASCIILetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// englishStopWords are left out of the index and of queries: they occur in
// nearly every question ("how do I…", "can you…") and would only blur the
// matching of the words that carry the meaning.
var englishStopWords = wordSet(`a about above after again against all am an and any are as at be because
been before being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers herself him himself his how i if in into is it its itself
just let me more most my myself no nor of off on once only or other our ours ourselves out over own
same she should so some such than that the their theirs them themselves then there these they this
those through to too under until up very was we were what when where which while who whom why will with
would you your yours yourself yourselves
dont doesnt didnt cant cannot wont isnt arent wasnt werent hasnt havent hadnt couldnt shouldnt wouldnt
im ive id youre youve theyre whats wheres hows whens whos theres thats
u ur pls plz please hi hello hey thanks thank thx ok okay yes yeah um uh lol guys
also actually anyway ask asking basically just know maybe need needed quick really still tell want
wanted wondering question get got getting make thing things something anything way stuff
today yesterday tomorrow tonight ago already yet recently currently earlier morning afternoon evening
now made thru till`)

// chineseStopBigrams are character pairs of question phrasing ("请问",
// "怎么", "可以") that carry no topic.
var chineseStopBigrams = wordSet(`请问 我的 我们 你们 您好 你好 怎么 怎样 什么 如何 可以 能否 是否 一下 为什 这个 那个 的话 是不
不是 有没 没有 么办 么样 谢谢 我想 我要 想要 请帮 帮我 的吗 了吗`)

// chineseStopChars are characters that carry no topic on their own.
var chineseStopChars = wordSet(`的 了 吗 呢 吧 啊 呀 哦 嘛 啦 我 你 您 他 她 它 们 是 在 和 也 都 就 还 又 请 把 被 给 让
这 那 哪 有 么 什 怎 嗯 喂 能 可 会 要 想 个 些 一 下 得 着 过 到 不 没 很 太 好`)

func wordSet(list string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(list) {
		m[w] = true
	}
	return m
}

func isStopWord(w string) bool   { return englishStopWords[w] }
func isStopBigram(b string) bool { return chineseStopBigrams[b] }
func isStopChar(r rune) bool     { return chineseStopChars[string(r)] }

// terms returns the distinct terms of text in order of first appearance.
func terms(text string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range analyze(text) {
		if !seen[t.term] {
			seen[t.term] = true
			out = append(out, t.term)
		}
	}
	return out
}
