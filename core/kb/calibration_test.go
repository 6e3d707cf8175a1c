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
	if got := FeaturesOf(Features{Match: 1, Margin: 2, Unknown: 3, Intent: 4, AnswerOnly: 5, Evidence: 6, Rank: 7, Support: 8}.Vector()); got.Support != 8 || got.Match != 1 {
		t.Errorf("FeaturesOf(Vector) = %+v", got)
	}
}
