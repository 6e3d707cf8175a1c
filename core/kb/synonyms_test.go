package kb

import (
	"slices"
	"testing"
)

func TestExactSynonyms(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"installments", "instalment", true},
		{"installments", "install", false},
		{"do you take paypal", "do you accept paypal", true},
		{"my visa was declined", "my card was declined", true},
		{"left on the porch", "left on the doorstep", true},
		{"talk to a manager", "talk to a person", true},
		{"包裹被人拿走了", "包裹被偷了", true},
		{"能换个红色吗", "能换个颜色吗", true},
		{"账号登不上", "账号登录不了", true},
		{"can't remember my password", "forgot my password", true},
		{"优惠码没反应", "优惠码用不了", true},
		{"送人的能包装吗", "送礼的能包装吗", true},
		{"office order", "business order", false},
	} {
		same := slices.Equal(terms(tc.a), terms(tc.b))
		if same != tc.same {
			t.Errorf("terms(%q) = %v, terms(%q) = %v; want same: %v", tc.a, terms(tc.a), tc.b, terms(tc.b), tc.same)
		}
	}
}

func TestSplitPhrasalVerbs(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"send it back", []string{"return"}},
		{"send my order back", []string{"return", "order"}},
		{"take an item off my order", []string{"remov", "item", "order"}},
		{"send back the kettle", []string{"return", "kettl"}},
		{"send. it was back", []string{"send", "back"}},
		{"send the big heavy kettle back", []string{"send", "big", "heavi", "kettl", "back"}},
		{"sending it back", []string{"return"}},
		{"sent my order back", []string{"return", "order"}},
	} {
		if got := terms(tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("terms(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}
