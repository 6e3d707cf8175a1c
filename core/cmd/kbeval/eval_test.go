package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/core/kb"
)

// TestQuestionSets checks the built-in sets against the shipped FAQ: a
// label that names no FAQ entry would count as a wrong answer for ever,
// and a question in both sets would let the second held-out set see what
// the tuning part was tuned on.
func TestQuestionSets(t *testing.T) {
	ins, err := kb.ReadSources([]string{"../../../examples/kb"})
	if err != nil {
		t.Fatal(err)
	}
	faq := map[string]bool{}
	for _, in := range ins {
		chunks, err := kb.Parse(in.Name, in.Format, in.Content)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range chunks {
			if c.Kind == kb.KindFAQ {
				faq[c.Title] = true
			}
		}
	}
	qs, err := loadSets("", "")
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
		set := "first"
		if q.second {
			set = heldOut2
		}
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
		{set: "first", min: 200, minOutside: 50},
		{set: heldOut2, min: 120, minOutside: 30},
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

// TestParts checks that the second set is held out whole and that the
// first is split between tuning and held out.
func TestParts(t *testing.T) {
	qs, err := loadSets("", "")
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, q := range qs {
		p := q.part()
		if q.second && p != heldOut2 {
			t.Errorf("question %q of the second set is in part %s", q.text, p)
		}
		if !q.second && p == heldOut2 {
			t.Errorf("question %q of the first set is in part %s", q.text, p)
		}
		n[p]++
	}
	for _, p := range partNames {
		if n[p] == 0 {
			t.Errorf("part %s is empty (%v)", p, n)
		}
	}
	if got := fmt.Sprint(judged(tuning), judged(heldOut), judged(heldOut2)); got != "false true true" {
		t.Errorf("judged(tuning, heldout, heldout2) = %s", got)
	}
}
