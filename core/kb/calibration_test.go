package kb

import (
	"math"
	"testing"
)

func TestCalibrationProbability(t *testing.T) {
	c := Calibration{Bias: -1, Weights: Features{Match: 2, Margin: 1}}
	for _, tc := range []struct {
		f    Features
		want float64
	}{
		{Features{}, 1 / (1 + math.Exp(1))},
		{Features{Match: 0.5}, 0.5},
		{Features{Match: 0.5, Margin: 1, Unknown: 1}, 1 / (1 + math.Exp(-1))},
	} {
		if got := c.Probability(tc.f); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("Probability(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}
	f := Features{Match: 1, Margin: 2, Unknown: 3, Intent: 4, AnswerOnly: 5, Evidence: 6, Rank: 7, Support: 8,
		QuestionCover: 9, PhrasingCover: 10, Lead: 11, SupportedMargin: 12}
	if got := FeaturesOf(f.Vector()); got != f {
		t.Errorf("FeaturesOf(Vector) = %+v, want %+v", got, f)
	}
}

func TestWithMargins(t *testing.T) {
	fs := []Features{{Match: 0.8, Support: 1}, {Match: 0.4, Support: 1.0 / 3}, {Match: 0.1}, {}}
	withMargins(fs)
	for i, want := range []Features{
		{Match: 0.8, Support: 1, Margin: 0.4, Lead: 0.5, SupportedMargin: 0.4},
		{Match: 0.4, Support: 1.0 / 3, Margin: -0.4, Lead: -1, SupportedMargin: -0.4 / 3},
		{Match: 0.1, Margin: -0.7, Lead: -1},
		{Margin: -0.8},
	} {
		got := fs[i]
		if math.Abs(got.Margin-want.Margin) > 1e-9 || math.Abs(got.Lead-want.Lead) > 1e-9 ||
			math.Abs(got.SupportedMargin-want.SupportedMargin) > 1e-9 {
			t.Errorf("candidate %d: margin %v, lead %v, supported margin %v; want %v, %v, %v",
				i, got.Margin, got.Lead, got.SupportedMargin, want.Margin, want.Lead, want.SupportedMargin)
		}
	}
}
