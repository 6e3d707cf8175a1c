package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/switchboard-chat/switchboard/core/kb"
)

// Cross-validation of the calibration within the tuning part: how well a
// fit carries over to questions it was not fitted on, without looking at
// a held-out part. Each split shuffles the tuning questions, cuts them
// into cvFolds folds, fits on all folds but one and scores that one.
const (
	cvFolds  = 5
	cvSplits = 6
)

// cvFigures are the out-of-fold figures of one or more splits.
type cvFigures struct {
	// logLoss is the mean log loss of the best-matching candidates (the
	// ones the fit is made on).
	logLoss float64
	// tuned are the metrics at the thresholds -tune picks on the
	// out-of-fold confidences.
	tuned metrics
	// fixed are the metrics at the thresholds given.
	fixed metrics
}

// crossValidate fits the calibration on cvFolds-1 folds of rs and scores
// the last, for cvSplits shufflings of rs, and returns the out-of-fold
// figures of each split; t are the thresholds of the fixed figures.
func crossValidate(rs []result, t kb.Thresholds) []cvFigures {
	var out []cvFigures
	for s := range cvSplits {
		rng := rand.New(rand.NewPCG(uint64(s), 7))
		order := rng.Perm(len(rs))
		var oof []result
		var loss float64
		var n int
		for k := range cvFolds {
			var train, test []result
			for i, j := range order {
				if i%cvFolds == k {
					test = append(test, cloneResult(rs[j]))
				} else {
					train = append(train, rs[j])
				}
			}
			c := fitCalibration(train)
			for _, r := range test {
				for _, cand := range r.cands {
					if cand.features.Margin < 0 {
						continue
					}
					p := min(max(c.Probability(cand.features), 1e-9), 1-1e-9)
					if cand.right {
						loss -= math.Log(p)
					} else {
						loss -= math.Log(1 - p)
					}
					n++
				}
			}
			recalibrate(test, c)
			oof = append(oof, test...)
		}
		out = append(out, cvFigures{
			logLoss: loss / float64(max(n, 1)),
			tuned:   measure(oof, tuneThresholds(oof)),
			fixed:   measure(oof, t),
		})
	}
	return out
}

func cloneResult(r result) result {
	r.cands = slices.Clone(r.cands)
	return r
}

// printCV prints the mean and range of the out-of-fold figures.
func printCV(w io.Writer, figs []cvFigures, t kb.Thresholds) {
	stat := func(f func(cvFigures) float64) string {
		lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
		for _, g := range figs {
			v := f(g)
			lo, hi, sum = min(lo, v), max(hi, v), sum+v
		}
		return fmt.Sprintf("%.3f (%.3f–%.3f)", sum/float64(len(figs)), lo, hi)
	}
	fmt.Fprintf(w, "cross-validated on the tuning part (%d folds, %d splits):\n", cvFolds, cvSplits)
	fmt.Fprintf(w, "cv_log_loss: %s\n", stat(func(g cvFigures) float64 { return g.logLoss }))
	fmt.Fprintf(w, "cv_tuned_coverage: %s at precision %s, handoff %s\n",
		stat(func(g cvFigures) float64 { return g.tuned.coverage() }),
		stat(func(g cvFigures) float64 { return g.tuned.precision() }),
		stat(func(g cvFigures) float64 { return g.tuned.handoff() }))
	fmt.Fprintf(w, "cv_fixed (answer %.2f, margin %.2f, suggest %.2f): precision %s, coverage %s, handoff %s\n",
		t.Answer, t.Margin, t.Suggest,
		stat(func(g cvFigures) float64 { return g.fixed.precision() }),
		stat(func(g cvFigures) float64 { return g.fixed.coverage() }),
		stat(func(g cvFigures) float64 { return g.fixed.handoff() }))
}
