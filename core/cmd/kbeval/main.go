// Command kbeval measures the knowledge base on a labelled set of visitor
// questions: how often the right FAQ entry ranks first, how often the
// no-model answerer answers, and rightly, and how fast a search is in a
// large knowledge base. `make eval` runs it; see docs/knowledge-base.md.
//
// The questions (questions.csv) are split by a hash of their text into a
// tuning part and a held-out part; two more tuning sets (tuning2.csv,
// tuning3.csv) are all tuning, and two more held-out sets (heldout2.csv,
// heldout3.csv), each written apart from the others, are parts of their
// own. The third held-out part alone judges the result, and -fit, -tune,
// -curve, -show and -cv look at every part but it: the first two held-out
// parts have chosen between versions of the answerer, so they are
// developed on now.
// With -strict the command exits 1 when the judging part misses a quality
// target.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/switchboard-chat/switchboard/core/config"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kbeval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sources := fs.String("kb", "examples/kb", "knowledge-base folder to evaluate")
	questions := fs.String("questions", "", "labelled questions CSV split into tuning and held-out parts (default: the built-in set)")
	tuning2 := fs.String("tuning2", "", "second tuning set, a labelled questions CSV all in the tuning part (default: the built-in set)")
	tuning3 := fs.String("tuning3", "", "third tuning set, a labelled questions CSV all in the tuning part (default: the built-in set)")
	questions2 := fs.String("heldout2", "", "second held-out set, a labelled questions CSV (default: the built-in set)")
	questions3 := fs.String("heldout3", "", "third held-out set, the one judging the targets, a labelled questions CSV (default: the built-in set)")
	chunks := fs.Int("chunks", 100_000, "knowledge-base size, in chunks, for the search latency figure (0: skip it)")
	strict := fs.Bool("strict", false, "exit 1 when the judging held-out part misses a quality target")
	tune := fs.Bool("tune", false, "search the thresholds on the parts that do not judge and print the best")
	curveMargin := fs.Float64("curve", -1, "print the precision and coverage of the parts that do not judge, by answer threshold at this margin")
	fit := fs.Bool("fit", false, "fit the answerer's calibration on the parts that do not judge, print it, and measure every part with it")
	show := fs.Bool("show", false, "print each question of the parts that do not judge with the answerer's candidates")
	cv := fs.Bool("cv", false, "cross-validate the calibration's fit within the parts that do not judge, print the out-of-fold figures, and measure nothing else")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	qs, err := loadSets(setFiles{setFirst: *questions, setTuning2: *tuning2, setHeldOut2: *questions2, setHeldOut3: *questions3, setTuning3: *tuning3})
	if err != nil {
		fmt.Fprintln(stderr, "kbeval:", err)
		return 1
	}
	t := thresholds(config.Default().KB)
	if *cv {
		qs = slices.DeleteFunc(qs, func(q question) bool { return judged(q.part()) })
	}
	ctx := context.Background()
	e, err := newEvaluator(ctx, *sources)
	if err != nil {
		fmt.Fprintln(stderr, "kbeval:", err)
		return 1
	}
	defer e.close()
	results, err := e.judge(ctx, qs, t)
	if err != nil {
		fmt.Fprintln(stderr, "kbeval:", err)
		return 1
	}
	if *cv {
		printCV(stdout, crossValidate(results, t), t)
		sets, bySet := crossValidateSets(results, t)
		printCVSets(stdout, sets, bySet, t)
		return 0
	}
	if *fit {
		c := fitCalibration(developing(results))
		printCalibration(stdout, c)
		recalibrate(results, c)
	}
	if *curveMargin >= 0 {
		curve(stdout, developing(results), *curveMargin)
	}
	if *tune {
		best := tuneThresholds(developing(results))
		fmt.Fprintf(stdout, "tuned on the parts that do not judge: answer_threshold = %.2f, answer_margin = %.2f, suggest_threshold = %.2f\n",
			best.Answer, best.Margin, best.Suggest)
		t = best
	}
	if *show {
		showResults(stdout, developing(results), t)
	}
	failed := false
	for _, p := range parts(results) {
		m := measure(p.results, t)
		m.print(stdout, p.name)
		if judged(p.name) && !m.meetsTargets() {
			failed = true
		}
	}
	if *chunks > 0 {
		p50, size, took, err := searchLatency(ctx, *sources, *chunks, qs)
		if err != nil {
			fmt.Fprintln(stderr, "kbeval:", err)
			return 1
		}
		fmt.Fprintf(stdout, "kb_search_p50_ms: %.2f (at %d chunks; target <= %d)\n", p50, *chunks, targetP50ms)
		fmt.Fprintf(stdout, "kb_database_mb: %.1f (at %d chunks)\n", float64(size)/1e6, *chunks)
		fmt.Fprintf(stdout, "kb_import_seconds: %.1f (%d synthetic chunks)\n", took.Seconds(), *chunks)
	}
	if failed {
		fmt.Fprintln(stdout, "kb_targets: MISSED on the judging part ("+heldOut3+")")
		if *strict {
			return 1
		}
	} else {
		fmt.Fprintln(stdout, "kb_targets: met on the judging part ("+heldOut3+")")
	}
	return 0
}
