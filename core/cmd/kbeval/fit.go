package main

import (
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/switchboard-chat/switchboard/core/kb"
)

// ridge is the L2 penalty of the fit, per feature: it keeps the weights
// of features that separate few questions from growing without bound.
const ridge = 1.0

// fitCalibration fits the answerer's calibration on results: a logistic
// regression of whether the best-matching candidate of a question is a
// right entry (never, for an out-of-scope question) on its features, by
// Newton's method with an L2 penalty on the weights. The decision is made
// on the best candidate, so that is what is fitted; the others score
// lower through their negative margin.
func fitCalibration(rs []result) kb.Calibration {
	w := fitWeights(rs, kb.Features.Vector)
	if w == nil {
		return kb.Calibration{}
	}
	return kb.Calibration{Bias: w[0], Weights: kb.FeaturesOf(w[1:])}
}

// fitWeights fits the logistic regression on the features vec lists,
// and returns the intercept followed by their weights (nil when there is
// nothing to fit).
func fitWeights(rs []result, vec func(kb.Features) []float64) []float64 {
	var xs [][]float64
	var ys []float64
	for _, r := range rs {
		for _, c := range r.cands {
			if c.features.Margin < 0 {
				continue
			}
			xs = append(xs, append([]float64{1}, vec(c.features)...))
			y := 0.0
			if c.right {
				y = 1
			}
			ys = append(ys, y)
		}
	}
	if len(xs) == 0 {
		return nil
	}
	n := len(xs[0])
	w := make([]float64, n)
	for range 50 {
		grad := make([]float64, n)
		hess := make([][]float64, n)
		for i := range hess {
			hess[i] = make([]float64, n)
		}
		for k, x := range xs {
			z := 0.0
			for i := range x {
				z += w[i] * x[i]
			}
			p := 1 / (1 + math.Exp(-z))
			for i := range x {
				grad[i] += (ys[k] - p) * x[i]
				for j := range x {
					hess[i][j] += p * (1 - p) * x[i] * x[j]
				}
			}
		}
		for i := 1; i < n; i++ {
			grad[i] -= ridge * w[i]
			hess[i][i] += ridge
		}
		step := solve(hess, grad)
		done := true
		for i := range w {
			w[i] += step[i]
			if math.Abs(step[i]) > 1e-9 {
				done = false
			}
		}
		if done {
			break
		}
	}
	return w
}

// solve solves a x = b by Gaussian elimination with partial pivoting; a
// is positive definite here.
func solve(a [][]float64, b []float64) []float64 {
	n := len(b)
	m := make([][]float64, n)
	for i := range a {
		m[i] = append(slices.Clone(a[i]), b[i])
	}
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[p][c]) {
				p = r
			}
		}
		m[c], m[p] = m[p], m[c]
		for r := c + 1; r < n; r++ {
			f := m[r][c] / m[c][c]
			for k := c; k <= n; k++ {
				m[r][k] -= f * m[c][k]
			}
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		v := m[r][n]
		for k := r + 1; k < n; k++ {
			v -= m[r][k] * x[k]
		}
		x[r] = v / m[r][r]
	}
	return x
}

// recalibrate rescores every candidate with c and sorts them again, as
// the answerer would with c.
func recalibrate(rs []result, c kb.Calibration) {
	for i := range rs {
		for j := range rs[i].cands {
			rs[i].cands[j].score = c.Probability(rs[i].cands[j].features)
		}
		slices.SortStableFunc(rs[i].cands, func(a, b candidate) int {
			switch {
			case a.score > b.score:
				return -1
			case a.score < b.score:
				return 1
			}
			return 0
		})
	}
}

// printCalibration prints c as the Go literal of the answerer's default.
func printCalibration(w io.Writer, c kb.Calibration) {
	f := c.Weights
	fmt.Fprintf(w, "fitted on the parts that do not judge:\nvar defaultCalibration = Calibration{\n\tBias: %.3f,\n\tWeights: Features{Match: %.3f, Margin: %.3f, Unknown: %.3f, Intent: %.3f, AnswerOnly: %.3f, Evidence: %.3f, Rank: %.3f, Support: %.3f,\n\t\tQuestionCover: %.3f, PhrasingCover: %.3f, Lead: %.3f, SupportedMargin: %.3f},\n}\n",
		c.Bias, f.Match, f.Margin, f.Unknown, f.Intent, f.AnswerOnly, f.Evidence, f.Rank, f.Support,
		f.QuestionCover, f.PhrasingCover, f.Lead, f.SupportedMargin)
}
