package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/switchboard-chat/switchboard/core/kb"
)

// Cross-validation of the calibration within the parts that do not judge:
// how well a fit carries over to questions it was not fitted on, without
// looking at the judging part. Each split shuffles the questions, cuts them
// into cvFolds folds, fits on all folds but one and scores that one.
const (
	cvFolds  = 5
	cvSplits = 10
)

// cvFigures are the out-of-fold figures of one or more splits.
type cvFigures struct {
	// logLoss is the mean log loss of the best-matching candidates (the
	// ones the fit is made on).
	logLoss float64
	// tuned are the metrics at the thresholds -tune picks on the
	// out-of-fold confidences, thresholds.
	tuned      metrics
	thresholds kb.Thresholds
	// fixed are the metrics at the thresholds given.
	fixed metrics
	// top1 is the share of the questions the FAQ answers whose most
	// confident candidate is right.
	top1 float64
	// coverAt is the most coverage an answer threshold (no margin) gets
	// while keeping precision at cvPrecisions[i] and out-of-scope handoff
	// at tuneHandoff.
	coverAt []float64
}

// cvPrecisions are the precisions coverAt is read at.
var cvPrecisions = []float64{0.92, 0.93, 0.94, 0.95}

// coverageAt returns the most coverage an answer threshold, margin 0,
// gets while keeping precision at p and out-of-scope handoff at
// tuneHandoff.
func coverageAt(rs []result, p float64) float64 {
	best := 0.0
	for a := 0.30; a <= 0.99; a += 0.005 {
		m := measure(rs, kb.Thresholds{Answer: a, Suggest: a})
		if m.precision() >= p && m.handoff() >= tuneHandoff {
			best = max(best, m.coverage())
		}
	}
	return best
}

// crossValidate fits the calibration on cvFolds-1 folds of rs and scores
// the last, for cvSplits shufflings of rs, and returns the out-of-fold
// figures of each split; t are the thresholds of the fixed figures.
func crossValidate(rs []result, t kb.Thresholds) []cvFigures {
	var out []cvFigures
	for s := range cvSplits {
		rng := rand.New(rand.NewPCG(uint64(s), 7))
		order := rng.Perm(len(rs))
		fold := make([]int, len(rs))
		for i, j := range order {
			fold[j] = i % cvFolds
		}
		figs, _ := outOfFold(rs, fold, cvFolds, t)
		out = append(out, figs)
	}
	return out
}

// crossValidateSets fits the calibration on every question set of rs but
// one and scores that one, for each set, and returns the out-of-set
// figures, and each set's metrics at thresholds t. Each set was written
// apart from the others, so a set left out is new to the fit the way the
// judging part is, which shuffled folds of questions written together
// are not.
func crossValidateSets(rs []result, t kb.Thresholds) (cvFigures, map[questionSet]metrics) {
	fold := make([]int, len(rs))
	for i, r := range rs {
		fold[i] = int(r.q.set)
	}
	figs, oof := outOfFold(rs, fold, int(numSets), t)
	bySet := map[questionSet]metrics{}
	for set := range numSets {
		part := slices.DeleteFunc(slices.Clone(oof), func(r result) bool { return r.q.set != set })
		if len(part) > 0 {
			bySet[set] = measure(part, t)
		}
	}
	return figs, bySet
}

// outOfFold fits the calibration on the results of all folds but one and
// scores that one, for each of folds folds (fold[i] is the fold of rs[i]),
// and returns the figures of the out-of-fold scores and the results
// scored so.
func outOfFold(rs []result, fold []int, folds int, t kb.Thresholds) (cvFigures, []result) {
	var oof []result
	var loss float64
	var n int
	for k := range folds {
		var train, test []result
		for j := range rs {
			if fold[j] == k {
				test = append(test, cloneResult(rs[j]))
			} else {
				train = append(train, rs[j])
			}
		}
		if len(test) == 0 {
			continue
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
	top, in := 0, 0
	for _, r := range oof {
		if r.q.inScope() {
			in++
			if len(r.cands) > 0 && r.cands[0].right {
				top++
			}
		}
	}
	var at []float64
	for _, p := range cvPrecisions {
		at = append(at, coverageAt(oof, p))
	}
	best := tuneThresholds(oof)
	return cvFigures{
		thresholds: best,
		top1:       ratio(top, in),
		coverAt:    at,
		logLoss:    loss / float64(max(n, 1)),
		tuned:      measure(oof, best),
		fixed:      measure(oof, t),
	}, oof
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
	fmt.Fprintf(w, "cross-validated on the parts that do not judge (%d folds, %d splits):\n", cvFolds, cvSplits)
	fmt.Fprintf(w, "cv_log_loss: %s\n", stat(func(g cvFigures) float64 { return g.logLoss }))
	fmt.Fprintf(w, "cv_top1: %s\n", stat(func(g cvFigures) float64 { return g.top1 }))
	for i, p := range cvPrecisions {
		fmt.Fprintf(w, "cv_coverage_at_precision_%.2f: %s\n", p, stat(func(g cvFigures) float64 { return g.coverAt[i] }))
	}
	fmt.Fprintf(w, "cv_tuned_coverage: %s at precision %s, handoff %s\n",
		stat(func(g cvFigures) float64 { return g.tuned.coverage() }),
		stat(func(g cvFigures) float64 { return g.tuned.precision() }),
		stat(func(g cvFigures) float64 { return g.tuned.handoff() }))
	median := func(f func(cvFigures) float64) float64 {
		var vs []float64
		for _, g := range figs {
			vs = append(vs, f(g))
		}
		slices.Sort(vs)
		return (vs[(len(vs)-1)/2] + vs[len(vs)/2]) / 2
	}
	fmt.Fprintf(w, "cv_tuned_thresholds (median of the splits): answer_threshold = %.2f, answer_margin = %.2f, suggest_threshold = %.2f\n",
		median(func(g cvFigures) float64 { return g.thresholds.Answer }),
		median(func(g cvFigures) float64 { return g.thresholds.Margin }),
		median(func(g cvFigures) float64 { return g.thresholds.Suggest }))
	fmt.Fprintf(w, "cv_fixed (answer %.2f, margin %.2f, suggest %.2f): precision %s, coverage %s, handoff %s\n",
		t.Answer, t.Margin, t.Suggest,
		stat(func(g cvFigures) float64 { return g.fixed.precision() }),
		stat(func(g cvFigures) float64 { return g.fixed.coverage() }),
		stat(func(g cvFigures) float64 { return g.fixed.handoff() }))
}

// printCVSets prints the out-of-set figures, and each set's.
func printCVSets(w io.Writer, g cvFigures, bySet map[questionSet]metrics, t kb.Thresholds) {
	fmt.Fprintln(w, "cross-validated by question set (each set of the parts that do not judge left out in turn):")
	fmt.Fprintf(w, "cvset_log_loss: %.3f\n", g.logLoss)
	fmt.Fprintf(w, "cvset_top1: %.3f\n", g.top1)
	for i, p := range cvPrecisions {
		fmt.Fprintf(w, "cvset_coverage_at_precision_%.2f: %.3f\n", p, g.coverAt[i])
	}
	fmt.Fprintf(w, "cvset_tuned_coverage: %.3f at precision %.3f, handoff %.3f (answer_threshold = %.2f, answer_margin = %.2f, suggest_threshold = %.2f)\n",
		g.tuned.coverage(), g.tuned.precision(), g.tuned.handoff(), g.thresholds.Answer, g.thresholds.Margin, g.thresholds.Suggest)
	fmt.Fprintf(w, "cvset_fixed (answer %.2f, margin %.2f, suggest %.2f): precision %.3f, coverage %.3f, handoff %.3f\n",
		t.Answer, t.Margin, t.Suggest, g.fixed.precision(), g.fixed.coverage(), g.fixed.handoff())
	for set := range numSets {
		if m, ok := bySet[set]; ok {
			fmt.Fprintf(w, "cvset_fixed{set=%q}: precision %.3f, coverage %.3f, handoff %.3f\n", set.String(), m.precision(), m.coverage(), m.handoff())
		}
	}
}
