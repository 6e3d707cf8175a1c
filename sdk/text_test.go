package sdk

import (
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestTextLen(t *testing.T) {
	tests := []struct {
		s                   string
		utf16, runes, bytes int
	}{
		{"", 0, 0, 0},
		{"abc", 3, 3, 3},
		{"é", 1, 1, 2},
		{"你好", 2, 2, 6},
		{"🍎", 2, 1, 4},
		{"👍🏽", 4, 2, 8},
		{"a\xffb", 3, 3, 5}, // an invalid byte is sent as U+FFFD
	}
	for _, tt := range tests {
		if got := TextLen(tt.s, UTF16Units); got != tt.utf16 {
			t.Errorf("TextLen(%q, UTF16Units) = %d, want %d", tt.s, got, tt.utf16)
		}
		if got := TextLen(tt.s, CodePoints); got != tt.runes {
			t.Errorf("TextLen(%q, CodePoints) = %d, want %d", tt.s, got, tt.runes)
		}
		if got := TextLen(tt.s, UTF8Bytes); got != tt.bytes {
			t.Errorf("TextLen(%q, UTF8Bytes) = %d, want %d", tt.s, got, tt.bytes)
		}
	}
}

func TestSplitText(t *testing.T) {
	sentence := "This is a sentence. "
	tests := []struct {
		name  string
		text  string
		limit int
		unit  TextUnit
		want  []string
	}{
		{"fits", "hello world", 20, UTF16Units, []string{"hello world"}},
		{"exactly the limit", "0123456789", 10, UTF16Units, []string{"0123456789"}},
		{"one over the limit", "0123456789a", 10, UTF16Units, []string{"0123456789", "a"}},
		{"space exactly at the limit", "0123456789 abc", 10, UTF16Units, []string{"0123456789", "abc"}},
		{"emoji exactly at the limit", "abcd🍎", 6, UTF16Units, []string{"abcd🍎"}},
		{"emoji one unit over the limit", "abcde🍎", 6, UTF16Units, []string{"abcde", "🍎"}},
		{"empty", "", 5, UTF16Units, nil},
		{"blank", "  \n\n \t", 5, UTF16Units, nil},
		{"no limit", strings.Repeat("long ", 100), 0, UTF16Units, []string{strings.TrimSpace(strings.Repeat("long ", 100))}},
		{"outer white space dropped", "  hi  ", 10, UTF16Units, []string{"hi"}},

		{"paragraph first", "aaaa bbbb.\n\ncccc dddd", 16, UTF16Units, []string{"aaaa bbbb.", "cccc dddd"}},
		{"paragraph with blanks on the empty line", "First one here.\n  \nSecond.", 20, UTF16Units, []string{"First one here.", "Second."}},
		{"CRLF paragraph", "First one here.\r\n\r\nSecond.", 20, UTF16Units, []string{"First one here.", "Second."}},
		{"line before sentence", "One. Two three\nfour five", 16, UTF16Units, []string{"One. Two three", "four five"}},
		{"sentence before word", "One two. Three four five", 16, UTF16Units, []string{"One two.", "Three four five"}},
		{"sentence end inside quotes", `He said "stop." Then he left`, 20, UTF16Units, []string{`He said "stop."`, "Then he left"}},
		{"word", "alpha beta gamma delta", 12, UTF16Units, []string{"alpha beta", "gamma delta"}},
		{"word ending at the limit", "alpha beta gamma delta", 10, UTF16Units, []string{"alpha beta", "gamma", "delta"}},
		{"later boundaries preferred", "Hi. " + strings.Repeat("word ", 4), 20, UTF16Units, []string{"Hi. word word word", "word"}},
		{"an early paragraph loses to a late space", "Hi.\n\n" + strings.Repeat("word ", 4), 20, UTF16Units, []string{"Hi.\n\nword word word", "word"}},
		{"many sentences", strings.Repeat(sentence, 3), 45, UTF16Units, []string{"This is a sentence. This is a sentence.", "This is a sentence."}},
		{"short word then a long one", "See: " + strings.Repeat("x", 12), 10, UTF16Units, []string{"See:", "xxxxxxxxxx", "xx"}},
		{"hard cut", "abcdefghijklmnop", 5, UTF16Units, []string{"abcde", "fghij", "klmno", "p"}},
		{"runs of blanks make no empty parts", "a" + strings.Repeat(" ", 20) + "b", 5, UTF16Units, []string{"a", "b"}},

		{"CJK sentence ends", "你好。我想退款。谢谢", 5, UTF16Units, []string{"你好。", "我想退款。", "谢谢"}},
		{"Japanese sentences", "今日は晴れです。明日は雨です。", 10, UTF16Units, []string{"今日は晴れです。", "明日は雨です。"}},
		{"CJK closing bracket stays with its sentence", "「はい。」いいえ。", 6, UTF16Units, []string{"「はい。」", "いいえ。"}},
		{"CJK without punctuation", "一二三四五六七", 3, UTF16Units, []string{"一二三", "四五六", "七"}},
		{"CJK ideographic space", "一二三四\u3000五六", 5, UTF16Units, []string{"一二三四", "五六"}},
		{"CJK counted in bytes", "你好你好", 7, UTF8Bytes, []string{"你好", "你好"}},

		{"emoji count two units", strings.Repeat("😀", 5), 4, UTF16Units, []string{"😀😀", "😀😀", "😀"}},
		{"emoji count one code point", strings.Repeat("😀", 5), 4, CodePoints, []string{"😀😀😀😀", "😀"}},
		{"surrogate pairs stay whole", "🍎🍎🍎", 3, UTF16Units, []string{"🍎", "🍎", "🍎"}},
		{"emoji and text", "ab🍎cd", 4, UTF16Units, []string{"ab🍎", "cd"}},
		{"a character longer than the limit", "🍎a", 1, UTF16Units, []string{"🍎", "a"}},
		{"skin tone stays with its emoji", "👍🏽👍🏽👍🏽", 6, UTF16Units, []string{"👍🏽", "👍🏽", "👍🏽"}},
		{"flags stay whole", "🇯🇵🇯🇵🇯🇵", 6, UTF16Units, []string{"🇯🇵", "🇯🇵", "🇯🇵"}},
		{"joined emoji stay whole", "ab👩\u200d💻", 6, UTF16Units, []string{"ab", "👩\u200d💻"}},
		{"combining accent stays with its letter", "abcde\u0301f", 5, UTF16Units, []string{"abcd", "e\u0301f"}},
		{"invalid UTF-8 kept byte for byte", "ab\xffcd\xfe", 3, UTF16Units, []string{"ab\xff", "cd\xfe"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SplitText(tt.text, tt.limit, tt.unit)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("SplitText(%q, %d) = %q, want %q", tt.text, tt.limit, got, tt.want)
			}
			checkSplit(t, tt.text, tt.limit, tt.unit, got)
		})
	}
}

// Texts at the platforms' limits: Telegram's 4096 and LINE's 5000 UTF-16
// units.
func TestSplitTextAtPlatformLimits(t *testing.T) {
	tests := []struct {
		name      string
		text      string
		limit     int
		wantParts int
		firstLen  int // UTF-16 units of the first part; 0: not checked
	}{
		{"words", strings.Repeat("word ", 2600), 5000, 3, 0},
		{"emoji one over", strings.Repeat("🍎", 2501), 5000, 2, 5000},
		{"emoji exactly", strings.Repeat("🍎", 2500), 5000, 1, 5000},
		{"surrogate at the cut", strings.Repeat("a", 4095) + "😀tail", 4096, 2, 4095},
		{"one long word", strings.Repeat("x", 10000), 4096, 3, 4096},
		{"emoji with skin tone", strings.Repeat("👍🏽", 3000), 4096, 3, 4096},
		{"paragraphs", strings.Repeat(strings.Repeat("lorem ipsum dolor sit amet. ", 50)+"\n\n", 5), 4096, 3, 1399 + 3 + 1399}, // " \n\n" inside the first part
		{"mixed scripts", strings.Repeat("Привет, мир! 你好世界。 😀 ok\n", 400), 4096, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := SplitText(tt.text, tt.limit, UTF16Units)
			if len(parts) != tt.wantParts {
				t.Fatalf("%d parts, want %d", len(parts), tt.wantParts)
			}
			if n := TextLen(parts[0], UTF16Units); tt.firstLen != 0 && n != tt.firstLen {
				t.Errorf("first part has %d units, want %d", n, tt.firstLen)
			}
			for i, p := range parts[:len(parts)-1] {
				if strings.HasSuffix(tt.text, " ") && strings.HasSuffix(p, "wor") {
					t.Errorf("part %d ends inside a word", i)
				}
			}
			checkSplit(t, tt.text, tt.limit, UTF16Units, parts)
		})
	}
}

func FuzzSplitText(f *testing.F) {
	f.Add("Hello there. How are you today?\n\nFine.", 12, 0)
	f.Add("你好。我想退款。谢谢", 5, 0)
	f.Add("👍🏽👍🏽 🇯🇵🇯🇵 ab👩\u200d💻 e\u0301", 3, 0)
	f.Add("a\r\n\r\nb\u2029c   d\xff\xfe", 2, 1)
	f.Add(strings.Repeat("word ", 50), 17, 2)
	f.Fuzz(func(t *testing.T, text string, limit, unit int) {
		if limit < 0 || limit > 1<<16 {
			limit %= 1 << 16
		}
		u := []TextUnit{UTF16Units, CodePoints, UTF8Bytes}[(unit%3+3)%3]
		parts := SplitText(text, limit, u)
		checkSplit(t, text, limit, u, parts)
		if again := SplitText(text, limit, u); !reflect.DeepEqual(again, parts) {
			t.Fatalf("the same input split differently: %q then %q", parts, again)
		}
	})
}

// checkSplit checks the promises of SplitText: joined with the white space
// between them, the parts give back the text; no part is blank or has white
// space at its ends or a cut character; each part fits, unless it is one
// character longer than the limit by itself.
func checkSplit(t *testing.T, text string, limit int, unit TextUnit, parts []string) {
	t.Helper()
	rest := text
	for i, p := range parts {
		if p == "" || strings.TrimSpace(p) != p {
			t.Fatalf("part %d %q is blank or has white space at an end", i, p)
		}
		if n := TextLen(p, unit); limit > 0 && n > limit && utf8.RuneCountInString(p) > 1 {
			t.Fatalf("part %d %q is %d long, over the limit %d", i, p, n, limit)
		}
		rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
		if !strings.HasPrefix(rest, p) {
			t.Fatalf("part %d %q is not where the text continues: %q", i, p, rest)
		}
		rest = rest[len(p):]
		// A cut inside a character (or a surrogate pair, which is one
		// rune) would leave invalid UTF-8 behind.
		if utf8.ValidString(text) && !utf8.ValidString(p) {
			t.Fatalf("part %d %q cuts a character", i, p)
		}
	}
	if strings.TrimSpace(rest) != "" {
		t.Fatalf("text lost after the last part: %q", rest)
	}
}
