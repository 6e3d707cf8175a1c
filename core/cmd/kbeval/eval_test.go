package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/switchboard-chat/switchboard/core/kb"
)

// shippedFAQ returns the shipped FAQ entries.
func shippedFAQ(t *testing.T) []kb.Chunk {
	t.Helper()
	ins, err := kb.ReadSources([]string{"../../../examples/kb"})
	if err != nil {
		t.Fatal(err)
	}
	var faq []kb.Chunk
	for _, in := range ins {
		chunks, err := kb.Parse(in.Name, in.Format, in.Content)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range chunks {
			if c.Kind == kb.KindFAQ {
				faq = append(faq, c)
			}
		}
	}
	return faq
}

// TestQuestionSets checks the built-in sets against the shipped FAQ: a
// label that names no FAQ entry would count as a wrong answer for ever,
// and a question in two sets would let a held-out set see what the
// tuning part was tuned on.
func TestQuestionSets(t *testing.T) {
	faq := map[string]bool{}
	for _, c := range shippedFAQ(t) {
		faq[c.Title] = true
	}
	qs, err := loadSets(setFiles{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	counts := map[string][2]int{} // part → in scope, out of scope
	langs := map[string]map[string]bool{}
	for _, q := range qs {
		key := strings.ToLower(strings.TrimSpace(q.text))
		if seen[key] {
			t.Errorf("question %q appears twice", q.text)
		}
		seen[key] = true
		for _, e := range q.expected {
			if !faq[e] {
				t.Errorf("question %q: label %q is no FAQ entry's question", q.text, e)
			}
		}
		set := q.set.String()
		c := counts[set]
		if q.inScope() {
			c[0]++
		} else {
			c[1]++
		}
		counts[set] = c
		if langs[set] == nil {
			langs[set] = map[string]bool{}
		}
		langs[set][q.lang] = true
	}
	for _, tc := range []struct {
		set             string
		min, minOutside int
	}{
		{set: setFirst.String(), min: 200, minOutside: 50},
		{set: setTuning2.String(), min: 150, minOutside: 30},
		{set: setHeldOut2.String(), min: 120, minOutside: 30},
		{set: setHeldOut3.String(), min: 150, minOutside: 40},
		{set: setTuning3.String(), min: 200, minOutside: 50},
	} {
		c := counts[tc.set]
		if c[0]+c[1] < tc.min || c[1] < tc.minOutside {
			t.Errorf("set %s: %d questions, %d out of scope; want at least %d and %d", tc.set, c[0]+c[1], c[1], tc.min, tc.minOutside)
		}
		if !langs[tc.set]["en"] || !langs[tc.set]["zh"] {
			t.Errorf("set %s: languages %v, want en and zh", tc.set, langs[tc.set])
		}
	}
}

// TestParts checks that the second held-out set is held out whole, the
// second tuning set tuning whole, and that the first is split between
// tuning and held out.
func TestParts(t *testing.T) {
	qs, err := loadSets(setFiles{})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	split := map[string]int{}
	for _, q := range qs {
		p := q.part()
		want := map[questionSet][]string{
			setFirst:    {tuning, heldOut},
			setTuning2:  {tuning},
			setHeldOut2: {heldOut2},
			setHeldOut3: {heldOut3},
			setTuning3:  {tuning},
		}[q.set]
		if !slices.Contains(want, p) {
			t.Errorf("question %q of set %s is in part %s", q.text, q.set, p)
		}
		if q.set == setFirst {
			split[p]++
		}
		n[p]++
	}
	if split[tuning] == 0 || split[heldOut] == 0 {
		t.Errorf("the first set is not split: %v", split)
	}
	for _, p := range partNames {
		if n[p] == 0 {
			t.Errorf("part %s is empty (%v)", p, n)
		}
	}
	if got := fmt.Sprint(judged(tuning), judged(heldOut), judged(heldOut2), judged(heldOut3)); got != "false false false true" {
		t.Errorf("judged(tuning, heldout, heldout2, heldout3) = %s", got)
	}
}

// TestAlternatesNotCopied keeps the FAQ's phrasings from copying the
// evaluation: a phrasing that shares half or more of its words (Chinese:
// character bigrams) and the question's together with any question of
// any set would answer that question by repeating it, and the figures
// would measure nothing. Only the phrasing and the set are reported, so
// that a failure shows no held-out question.
func TestAlternatesNotCopied(t *testing.T) {
	qs, err := loadSets(setFiles{})
	if err != nil {
		t.Fatal(err)
	}
	units := make([]map[string]bool, len(qs))
	for i, q := range qs {
		units[i] = overlapUnits(q.text)
	}
	for _, c := range shippedFAQ(t) {
		for _, alt := range c.Alternates {
			a := overlapUnits(alt)
			for i, q := range units {
				if copies(a, q) {
					t.Errorf("FAQ phrasing %q copies a question of set %s", alt, qs[i].set)
					break
				}
			}
		}
	}
}

func TestCopies(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"How do I cancel my order", "how do i cancel my order??", true},
		{"Cancel my order", "pls cancel my order", true},
		{"Student discount", "any discount for students", false},
		{"退货步骤", "退货步骤是什么", true},
		{"退货步骤", "我想退货", false},
	} {
		if got := copies(overlapUnits(tc.a), overlapUnits(tc.b)); got != tc.want {
			t.Errorf("copies(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// overlapUnits are the lower-cased words of a text, and the character
// bigrams of its Chinese, Japanese or Korean runs (a lone character as
// itself).
func overlapUnits(text string) map[string]bool {
	out := map[string]bool{}
	var word []rune
	var run []rune
	flush := func() {
		if len(word) > 0 {
			out[string(word)] = true
			word = word[:0]
		}
		if len(run) == 1 {
			out[string(run)] = true
		}
		for i := 0; i+1 < len(run); i++ {
			out[string(run[i:i+2])] = true
		}
		run = run[:0]
	}
	for _, r := range strings.ToLower(text) {
		switch {
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul):
			if len(word) > 0 {
				out[string(word)] = true
				word = word[:0]
			}
			run = append(run, r)
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'':
			if len(run) > 0 {
				flush()
			}
			word = append(word, r)
		default:
			flush()
		}
	}
	flush()
	return out
}

// copies reports whether a and b share half or more of their units
// together.
func copies(a, b map[string]bool) bool {
	shared, all := 0, len(b)
	for u := range a {
		if b[u] {
			shared++
		} else {
			all++
		}
	}
	return all > 0 && 2*shared >= all
}

// TestFitCalibration fits questions whose best candidate is right when
// its match is high: the fit must give such candidates the higher
// confidence, and rank a question's candidates by it.
func TestFitCalibration(t *testing.T) {
	var rs []result
	for i := range 40 {
		m := float64(i) / 40
		rs = append(rs, result{cands: []candidate{
			{right: m > 0.5 || i%7 == 0, features: kb.Features{Match: m, Margin: m / 2, Rank: 1}},
			{right: false, features: kb.Features{Match: m / 2, Margin: -m / 2, Rank: 0.5}},
		}})
	}
	c := fitCalibration(rs)
	high, low := c.Probability(kb.Features{Match: 0.9, Margin: 0.45, Rank: 1}), c.Probability(kb.Features{Match: 0.1, Margin: 0.05, Rank: 1})
	if high <= 0.5 || low >= 0.5 {
		t.Errorf("fitted %+v: confidence %.2f for a high match, %.2f for a low one", c, high, low)
	}
	recalibrate(rs, c)
	for _, r := range rs {
		if r.cands[0].score < r.cands[1].score {
			t.Fatalf("candidates not sorted by the new confidence: %+v", r.cands)
		}
	}
}

// TestCrossValidate cross-validates questions whose best candidate is
// right when the FAQ answers them, and matches them better than it
// matches the questions it does not answer: out of fold, the fit must
// still beat a coin on them and rank the right candidate first.
func TestCrossValidate(t *testing.T) {
	var rs []result
	for i := range 100 {
		q := question{text: fmt.Sprint(i), expected: []string{"right"}}
		m := 0.5 + float64(i%50)/100
		if i%5 == 0 {
			q.expected = nil
			m = float64(i%40) / 100
		}
		rs = append(rs, result{q: q, cands: []candidate{
			{title: "other", features: kb.Features{Match: m / 2, Margin: -m / 2, Rank: 0.5}},
			{title: "right", right: q.inScope(), features: kb.Features{Match: m, Margin: m / 2, Rank: 1}},
		}})
	}
	figs := crossValidate(rs, kb.Thresholds{Answer: 0.5, Suggest: 0.5})
	if len(figs) != cvSplits {
		t.Fatalf("%d splits, want %d", len(figs), cvSplits)
	}
	for _, g := range figs {
		if g.logLoss >= math.Ln2/2 || g.top1 < 1 {
			t.Errorf("out-of-fold log loss %.3f, top-1 %.3f: the fit did not carry over", g.logLoss, g.top1)
		}
	}
	if rs[0].cands[0].title != "other" {
		t.Error("cross-validation reordered the candidates it was given")
	}
}
