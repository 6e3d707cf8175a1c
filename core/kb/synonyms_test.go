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
	} {
		same := slices.Equal(terms(tc.a), terms(tc.b))
		if same != tc.same {
			t.Errorf("terms(%q) = %v, terms(%q) = %v; want same: %v", tc.a, terms(tc.a), tc.b, terms(tc.b), tc.same)
		}
	}
}
