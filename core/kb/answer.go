package kb

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/text/unicode/norm"
)

// Outcome is what the answerer decided for a question.
type Outcome int

// Outcomes of Decide.
const (
	// NoMatch: nothing in the FAQ answers the question; hand it to a
	// human.
	NoMatch Outcome = iota
	// Answer: one entry answers it; reply with its answer text.
	Answer
	// Suggest: a few entries might; offer their questions.
	Suggest
)

// String names the outcome.
func (o Outcome) String() string {
	switch o {
	case Answer:
		return "answer"
	case Suggest:
		return "suggest"
	}
	return "no_match"
}

// MaxSuggestions is how many questions a Suggest offers at most.
const MaxSuggestions = 3

// Thresholds tune the answerer. Scores are calibrated confidences
// between 0 and 1 (see Features and Calibration).
type Thresholds struct {
	// Answer is the score the best entry needs to be answered.
	Answer float64
	// Margin is how far the best entry must lead the second.
	Margin float64
	// Suggest is the score an entry needs to be offered as a "did you
	// mean"; below it for every entry the question is no match.
	Suggest float64
}

// Suggestion is an FAQ entry offered as a "did you mean".
type Suggestion struct {
	// ID is the entry's chunk ID.
	ID string `json:"id"`
	// Question is the entry's question.
	Question string `json:"question"`
	// Score is the entry's confidence.
	Score float64 `json:"score"`
}

// Decision is the answerer's verdict on a question.
type Decision struct {
	// Outcome is Answer, Suggest or NoMatch.
	Outcome Outcome
	// Entry is the answered FAQ entry (Answer only); its Text is the reply,
	// verbatim.
	Entry Hit
	// Suggestions are the entries offered, best first (Suggest only).
	Suggestions []Suggestion
	// Score is the best entry's confidence, 0 when no entry matched at all.
	Score float64
	// Candidates are the entries considered, best first, with their
	// confidence as Score: what the decision was made from.
	Candidates []Hit
	// Features are what each candidate's confidence was calibrated from,
	// in the order of Candidates.
	Features []Features
}

// Answerer answers visitors from the FAQ without a model.
type Answerer struct {
	kb *KB
	t  Thresholds
}

// Answerer returns an answerer with thresholds t.
func (k *KB) Answerer(t Thresholds) *Answerer { return &Answerer{kb: k, t: t} }

// Match model. A question is compared with each phrasing (question
// or alternate) of the best full-text candidates; a phrasing's match
// is the weighted mean of
//
//   - how much of the question it covers: the share of the question's
//     terms, weighted by IDF, found in the phrasing (a term found with a
//     typo counts fuzzyWeight, one found only in the entry's answer
//     answerCredit);
//   - how much of the phrasing the question covers, likewise;
//
// with the question's side weighing coverWeight. Each side's intents (see
// intents) count as one more term of weight intentWeight, matched as
// intentCredit says. A term the knowledge
// base has never seen weighs the most, so a question about something the
// FAQ does not mention scores low. In Chinese and Japanese, a bigram that
// straddles two matched words ("怎么退货" has 么退 between 怎么 and 退货)
// carries nothing of its own and is left out, as are stop characters.
// The entry's match is its best phrasing's; its confidence is calibrated
// from the match and other features (see Features).
const (
	answerCredit  = 0.7
	coverWeight   = 0.75
	unknownWeight = 1.0
	charCredit    = 0.9
	minEvidence   = 0.4

	// intentWeight is the weight of a text's intents, as a share of the
	// largest IDF; intentNeutral and intentYesNoCredit are intentCredit's
	// partial credits.
	intentWeight      = 0.5
	intentNeutral     = 0.5
	intentYesNoCredit = 0.3

	// candidates is how many FAQ entries of the full-text ranking the
	// answerer compares closely.
	candidates = 10

	// cjkEvidence is the share of its weight a Chinese or Japanese
	// character counts for in the matched weight (Features.Evidence and
	// the minEvidence rule): a word there is two characters, and counted
	// whole, one matched word was as much evidence as two English ones.
	cjkEvidence = 0.5

	// maxEvidence caps Features.Evidence.
	maxEvidence = 3
	// supportMatch and supportCap define Features.Support.
	supportMatch = 0.5
	supportCap   = 3
)

// Features describe how an FAQ entry matches a question; the answerer's
// confidence is a logistic function of them (see Calibration), fitted on
// the tuning questions of the evaluation (kbeval -fit).
type Features struct {
	// Match is the best phrasing's match, 0–1: the weighted share of the
	// question's terms found in the phrasing, and of the phrasing's found
	// in the question (see the match model above).
	Match float64
	// Margin is how far Match leads the best other candidate's
	// (negative when another entry matches better).
	Margin float64
	// Unknown is the share of the question's weight in terms the
	// knowledge base has never seen.
	Unknown float64
	// Intent is how well the best phrasing's intent answers the
	// question's: 1 when they ask the same, 0 when they differ, partial
	// credit between (see intentCredit); intentNeutral when the question
	// has none.
	Intent float64
	// AnswerOnly is the share of the question's matched words that the
	// best phrasing matches only through the entry's answer.
	AnswerOnly float64
	// Evidence is the matched weight of the question's words, in units
	// of the largest IDF, capped at maxEvidence; a Chinese or Japanese
	// character counts cjkEvidence of its weight, since a word there is
	// two characters.
	Evidence float64
	// Rank is 1/n for the entry ranked nth among the FAQ entries by the
	// full-text search (BM25), which weighs the words differently, scaled
	// down like Match when the matched words carry little information
	// (below minEvidence): the full-text order of entries that all match
	// one common word ("shipping") tells little.
	Rank float64
	// Support is the share of the entry's phrasings, up to supportCap,
	// that match the question at supportMatch or better: an entry whose
	// several phrasings agree is more likely the right one.
	Support float64
	// QuestionCover and PhrasingCover are the two sides of the best
	// phrasing's match: the weighted share of the question's terms found
	// in the phrasing, and of the phrasing's found in the question (both
	// with the intents, before the little-information rule). Match mixes
	// them at fixed weights; apart, the calibration weighs each.
	QuestionCover, PhrasingCover float64
	// Lead is Margin relative to Match, at least -1: a lead of 0.1 over
	// a match of 0.4 sets an entry further apart from the next than the
	// same lead over a match of 0.9.
	Lead float64
	// SupportedMargin is Margin times Support: a lead carried by several
	// phrasings of the entry that agree, not by one that happens to
	// share a word.
	SupportedMargin float64
}

// Calibration turns Features into a confidence: the logistic function of
// Bias plus each feature times its weight in Weights.
type Calibration struct {
	// Bias is the intercept.
	Bias float64
	// Weights holds each feature's coefficient in the field of its name.
	Weights Features
}

// Probability is the calibrated confidence, 0–1, that an entry with
// features f answers the question.
func (c Calibration) Probability(f Features) float64 {
	z := c.Bias
	fv := f.Vector()
	for i, w := range c.Weights.Vector() {
		z += w * fv[i]
	}
	return 1 / (1 + math.Exp(-z))
}

// Vector lists the features in a fixed order, for fitting.
func (f Features) Vector() []float64 {
	return []float64{f.Match, f.Margin, f.Unknown, f.Intent, f.AnswerOnly, f.Evidence, f.Rank, f.Support,
		f.QuestionCover, f.PhrasingCover, f.Lead, f.SupportedMargin}
}

// FeaturesOf is the inverse of Vector.
func FeaturesOf(v []float64) Features {
	return Features{Match: v[0], Margin: v[1], Unknown: v[2], Intent: v[3], AnswerOnly: v[4], Evidence: v[5], Rank: v[6], Support: v[7],
		QuestionCover: v[8], PhrasingCover: v[9], Lead: v[10], SupportedMargin: v[11]}
}

// defaultCalibration was fitted by `go run ./core/cmd/kbeval -chunks 0
// -fit` on the evaluation's parts that do not judge it (see
// docs/knowledge-base.md).
var defaultCalibration = Calibration{
	Bias: -5.535,
	Weights: Features{Match: 0.925, Margin: 1.175, Unknown: -0.856, Intent: 0.047, AnswerOnly: 0.669,
		Evidence: 1.583, Rank: 1.527, Support: 1.165,
		QuestionCover: 0.480, PhrasingCover: 1.541, Lead: 0.332, SupportedMargin: 2.681},
}

// Decide answers question from the FAQ entries: Answer when the best
// entry's confidence reaches the answer threshold and leads the second by
// the margin; Suggest with up to MaxSuggestions entries that reach the
// suggest threshold; NoMatch otherwise.
func (a *Answerer) Decide(ctx context.Context, question string) (Decision, error) {
	var cands []Hit
	var fs []Features
	err := a.kb.st.KBView(func(root *bolt.Bucket) error {
		r, err := newReader(root)
		if err != nil {
			return err
		}
		cands, fs, err = r.faqCandidates(question, a.t.Answer)
		return err
	})
	if err != nil {
		return Decision{}, err
	}
	return a.decide(cands, fs), nil
}

func (a *Answerer) decide(cands []Hit, fs []Features) Decision {
	d := Decision{Candidates: cands, Features: fs}
	if len(cands) == 0 {
		return d
	}
	d.Score = cands[0].Score
	second := 0.0
	if len(cands) > 1 {
		second = cands[1].Score
	}
	if d.Score >= a.t.Answer && d.Score-second >= a.t.Margin {
		d.Outcome, d.Entry = Answer, cands[0]
		return d
	}
	for _, c := range cands {
		if c.Score < a.t.Suggest || len(d.Suggestions) == MaxSuggestions {
			break
		}
		d.Suggestions = append(d.Suggestions, Suggestion{ID: c.ID, Question: c.Title, Score: c.Score})
	}
	if len(d.Suggestions) > 0 {
		d.Outcome = Suggest
	}
	return d
}

// faqCandidates returns the FAQ entries closest to question, best first,
// with their calibrated confidence as Score, and the features it was
// calibrated from.
//
// A Chinese question with English words in it is read three ways: as it
// is, with the English words put in Chinese, and with the Chinese words
// put in English (see englishInChinese). The first reading, in that
// order, whose best entry is as confident as enough is kept, so that a
// visitor writing Chinese is answered from the Chinese FAQ when it
// answers them, and from the English one when only it does; when no
// reading is, the one whose best entry is the most confident.
func (r *reader) faqCandidates(question string, enough float64) ([]Hit, []Features, error) {
	var hits []Hit
	var fs []Features
	for _, text := range mixed.readings(question) {
		h, f, err := r.faqCandidatesOf(text)
		if err != nil {
			return nil, nil, err
		}
		if len(h) > 0 && (len(hits) == 0 || h[0].Score > hits[0].Score) {
			hits, fs = h, f
		}
		if len(hits) > 0 && hits[0].Score >= enough {
			break
		}
	}
	return hits, fs, nil
}

// faqCandidatesOf is faqCandidates for one reading of the question. The
// kinds of goods the question names count as the word for an item (see
// goodsNames).
func (r *reader) faqCandidatesOf(question string) ([]Hit, []Features, error) {
	question = goods.asItems(question)
	qs := r.query(question)
	top, err := r.rank(qs, 3*candidates)
	if err != nil {
		return nil, nil, err
	}
	q := r.side(question, qs)
	idfCache := map[string]float64{}
	var out []Hit
	var fs []Features
	for _, s := range top {
		h, err := r.hit(s.num)
		if err != nil {
			return nil, nil, err
		}
		if h.Kind != KindFAQ {
			continue
		}
		out = append(out, h)
		f := r.features(q, h, idfCache)
		f.Rank = min(1, f.Evidence/minEvidence) / float64(len(out))
		fs = append(fs, f)
		if len(out) == candidates {
			break
		}
	}
	withMargins(fs)
	for i := range out {
		out[i].Score = defaultCalibration.Probability(fs[i])
	}
	order := make([]int, len(out))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case out[a].Score > out[b].Score:
			return -1
		case out[a].Score < out[b].Score:
			return 1
		}
		return 0
	})
	sorted, sortedFs := make([]Hit, len(out)), make([]Features, len(out))
	for i, j := range order {
		sorted[i], sortedFs[i] = out[j], fs[j]
	}
	return sorted, sortedFs, nil
}

// withMargins sets each candidate's Margin: how far its match leads the
// best other candidate's (negative when another matches better), and
// what is derived from it.
func withMargins(fs []Features) {
	for i := range fs {
		other := 0.0
		for j := range fs {
			if j != i {
				other = max(other, fs[j].Match)
			}
		}
		fs[i].Margin = fs[i].Match - other
		fs[i].Lead = 0
		if fs[i].Match > 0 {
			fs[i].Lead = max(-1, fs[i].Margin/fs[i].Match)
		}
		fs[i].SupportedMargin = fs[i].Margin * fs[i].Support
	}
}

// sideToken is one term of a text being compared, with its weight and the
// vocabulary terms that count as it.
type sideToken struct {
	token
	weight float64
	// known is false for a term the knowledge base has never seen (typos
	// of known terms are known).
	known bool
	// forms are the terms that match it: itself, or the terms one typo
	// away when it is unknown, with their credit.
	forms map[string]float64
}

type side struct {
	toks    []sideToken
	stopped map[int]bool
	intent  intent
	// unknown is the share of the weight of the words (CJK: bigrams)
	// that the knowledge base has never seen.
	unknown float64
}

// side analyses the question for comparison.
func (r *reader) side(text string, qs []queryTerm) side {
	toks, stopped := analyzeMarked(text)
	matches := map[string][]termMatch{}
	for _, q := range qs {
		matches[q.term] = q.matches
	}
	s := side{stopped: stopped, intent: intents(text)}
	for _, t := range toks {
		st := sideToken{token: t, forms: map[string]float64{t.term: 1}}
		ms := matches[t.term]
		switch {
		case len(ms) == 1 && ms[0].term == t.term:
			st.weight, st.known = ms[0].idf, true
		case len(ms) > 0: // typo: weigh it as the word meant
			st.known = true
			for _, m := range ms {
				st.forms[m.term] = m.weight
				st.weight = max(st.weight, m.idf)
			}
		default:
			st.weight = unknownWeight * r.idf(0)
		}
		s.toks = append(s.toks, st)
	}
	var unknown, all float64
	for _, t := range s.toks {
		if t.uni || isNumber(t.term) {
			continue
		}
		all += t.weight
		if !t.known {
			unknown += t.weight
		}
	}
	if all > 0 {
		s.unknown = unknown / all
	}
	return s
}

// features compares the question q with an FAQ entry: the best phrasing's
// match, and what else the calibration weighs (all but Margin, which
// depends on the other candidates).
func (r *reader) features(q side, h Hit, idfCache map[string]float64) Features {
	answer := map[string]bool{}
	for _, t := range analyze(h.Text) {
		answer[t.term] = true
	}
	qterms := map[string]bool{}
	for _, t := range q.toks {
		for form := range t.forms {
			qterms[form] = true
		}
	}
	f := Features{Unknown: q.unknown}
	support := 0
	for _, phrasing := range append([]string{h.Title}, h.Alternates...) {
		ptoks, pstopped := analyzeMarked(phrasing)
		if len(ptoks) == 0 {
			continue
		}
		pterms := map[string]bool{}
		for _, t := range ptoks {
			pterms[t.term] = true
		}
		// How much of the question the phrasing covers.
		qs := make([]covered, len(q.toks))
		for i, t := range q.toks {
			qs[i] = covered{tok: t.token, weight: t.weight, known: t.known}
			for form, c := range t.forms {
				switch {
				case pterms[form]:
					qs[i].credit = max(qs[i].credit, c)
				case answer[form]:
					qs[i].credit = max(qs[i].credit, c*answerCredit)
				}
			}
		}
		var fromAnswer, fromPhrasing float64
		for i, t := range q.toks {
			if t.uni || isNumber(t.term) {
				continue
			}
			direct := 0.0
			for form, c := range t.forms {
				if pterms[form] {
					direct = max(direct, c)
				}
			}
			fromPhrasing += t.weight * direct
			fromAnswer += t.weight * max(0, qs[i].credit-direct)
		}
		pi := intents(phrasing)
		intentMatch := intentNeutral
		if q.intent != 0 {
			intentMatch = intentCredit(q.intent, pi)
			qs = append(qs, covered{tok: token{term: "@" + q.intent.String()}, weight: intentWeight * r.idf(0), known: true,
				credit: intentCredit(q.intent, pi), intent: true})
		}
		qcov, evidence := coverage(qs, q.stopped)
		// How much of the phrasing the question covers.
		ps := make([]covered, len(ptoks))
		for i, t := range ptoks {
			w, ok := idfCache[t.term]
			if !ok {
				w = r.idf(r.df(t.term))
				idfCache[t.term] = w
			}
			ps[i] = covered{tok: t, weight: w, known: true}
			if qterms[t.term] {
				ps[i].credit = 1
			}
		}
		if pi != 0 {
			ps = append(ps, covered{tok: token{term: "@" + pi.String()}, weight: intentWeight * r.idf(0), known: true,
				credit: intentCredit(pi, q.intent), intent: true})
		}
		pcov, _ := coverage(ps, pstopped)
		conf := coverWeight*qcov + (1-coverWeight)*pcov
		if need := minEvidence * r.idf(0); evidence < need {
			conf *= evidence / need
		}
		if conf >= supportMatch {
			support++
		}
		if conf > f.Match {
			f.Match = conf
			f.QuestionCover, f.PhrasingCover = qcov, pcov
			f.Intent = intentMatch
			f.Evidence = min(evidence/r.idf(0), maxEvidence)
			f.AnswerOnly = 0
			if fromAnswer+fromPhrasing > 0 {
				f.AnswerOnly = fromAnswer / (fromAnswer + fromPhrasing)
			}
		}
	}
	f.Support = float64(min(support, supportCap)) / supportCap
	return f
}

// covered is a term of one side of a comparison: its weight, whether the
// knowledge base knows it, and how well the other side matches it (0–1).
type covered struct {
	tok    token
	weight float64
	known  bool
	credit float64
	// intent marks the pseudo-term of a text's intents, which is not
	// evidence of a shared topic.
	intent bool
}

// intentCredit is how well a text with intents b answers one asking a:
// fully when they share one, partly when b has none (a topic alone:
// "Order status") or one of them is a yes-no question, not at all when
// they ask different things (where against how long).
func intentCredit(a, b intent) float64 {
	switch {
	case a&b != 0:
		return 1
	case b == 0:
		return intentNeutral
	case a == intentYesNo || b == intentYesNo:
		return intentYesNoCredit
	}
	return 0
}

// coverage is the weighted share of a text's terms that the other side
// matches, and the matched weight of its words (intents are not evidence
// of a topic; a Chinese or Japanese character counts cjkEvidence of its
// weight, so that a two-character word is as much evidence as an English
// word).
//
// A number counts only when matched: "order 10482" or "after 4 months"
// is not less answered for its number. Chinese and Japanese are counted
// by character rather than by bigram, since half the bigrams of a
// sentence straddle two words: a character that is not a stop character
// weighs as much as the most specific known bigram holding it, else as
// the character itself when the knowledge base knows it (寄 in 寄回去),
// else as a word never seen; it is matched as well as the best matched bigram
// holding it, or by charCredit when only the character itself is found.
func coverage(items []covered, stopped map[int]bool) (share, matched float64) {
	var num, den, intentNum, charNum float64
	type charAcc struct {
		bigram, bigramCredit float64 // best known bigram's weight; best bigram credit
		unknown              float64 // weight of an unknown bigram holding it
		uni, uniCredit       float64
		uniKnown             bool
	}
	chars := map[int]*charAcc{}
	at := func(p int) *charAcc {
		c := chars[p]
		if c == nil {
			c = &charAcc{}
			chars[p] = c
		}
		return c
	}
	for _, it := range items {
		switch {
		case it.intent:
			num += it.weight * it.credit
			den += it.weight
			intentNum += it.weight * it.credit
		case !it.tok.cjk:
			if isNumber(it.tok.term) {
				continue
			}
			num += it.weight * it.credit
			den += it.weight
		case it.tok.uni:
			if !stopped[it.tok.start] {
				c := at(it.tok.start)
				c.uni, c.uniCredit, c.uniKnown = it.weight, it.credit, it.known
			}
		default:
			for p := it.tok.start; p < it.tok.start+2; p++ {
				if stopped[p] {
					continue
				}
				c := at(p)
				if it.known {
					c.bigram = max(c.bigram, it.weight)
				} else {
					c.unknown = max(c.unknown, it.weight)
				}
				c.bigramCredit = max(c.bigramCredit, it.credit)
			}
		}
	}
	// Sum in text order: in map order the float sums of two phrasings
	// that match equally could differ in the last bit, and which one
	// leads, and the fit, would change from run to run.
	positions := slices.Sorted(maps.Keys(chars))
	for _, p := range positions {
		c := chars[p]
		w := c.bigram
		switch {
		case w > 0:
		case c.uniKnown:
			w = c.uni
		default:
			w = max(c.uni, c.unknown)
		}
		num += w * max(c.bigramCredit, charCredit*c.uniCredit)
		charNum += w * max(c.bigramCredit, charCredit*c.uniCredit)
		den += w
	}
	if den == 0 {
		return 0, 0
	}
	return num / den, num - intentNum - (1-cjkEvidence)*charNum
}

func isNumber(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return s != ""
}

// Entry returns the chunk with the given ID.
func (k *KB) Entry(id string) (Hit, error) {
	docID, seqText, ok := strings.Cut(id, "-")
	seq, err := strconv.Atoi(seqText)
	if !ok || err != nil || seq < 1 {
		return Hit{}, fmt.Errorf("entry %q: %w", id, ErrNotFound)
	}
	var h Hit
	err = k.st.KBView(func(root *bolt.Bucket) error {
		r, err := newReader(root)
		if err != nil {
			return err
		}
		rec, found, err := r.doc(docID)
		if err != nil {
			return err
		}
		if !found || seq > len(rec.Nums) {
			return fmt.Errorf("entry %q: %w", id, ErrNotFound)
		}
		h, err = r.hit(rec.Nums[seq-1])
		return err
	})
	return h, err
}

// Pick resolves a visitor's reply to offered suggestions: the number of
// one ("2", "#2", "2.", "第二个", "２") or its question's text. It returns
// the Answer decision for the chosen entry, or false when the reply picks
// none (it is then a new question) or the entry is gone.
func (a *Answerer) Pick(ctx context.Context, reply string, offered []Suggestion) (Decision, bool, error) {
	i := pickIndex(reply, offered)
	if i < 0 {
		return Decision{}, false, nil
	}
	h, err := a.kb.Entry(offered[i].ID)
	if err != nil {
		if isNotFound(err) {
			return Decision{}, false, nil
		}
		return Decision{}, false, err
	}
	h.Score = offered[i].Score
	return Decision{Outcome: Answer, Entry: h, Score: h.Score, Candidates: []Hit{h}}, true, nil
}

// pickIndex returns the index of the suggestion a reply chooses, or -1.
func pickIndex(reply string, offered []Suggestion) int {
	r := strings.TrimSpace(norm.NFKC.String(reply))
	r = strings.TrimFunc(r, func(c rune) bool { return unicode.IsPunct(c) || unicode.IsSpace(c) || unicode.IsSymbol(c) })
	if r == "" || len(offered) == 0 {
		return -1
	}
	for i, s := range offered {
		if strings.EqualFold(normalizeQuestion(s.Question), normalizeQuestion(r)) {
			return i
		}
	}
	if n := choiceNumber(r); n >= 1 && n <= len(offered) {
		return n - 1
	}
	return -1
}

// choiceNumber reads a short reply naming a number ("2", "#2", "no. 2",
// "option 2", "第2个", "第二条", "二"); 0 when it is not one.
func choiceNumber(r string) int {
	r = strings.ToLower(r)
	for _, p := range []string{"option", "number", "no.", "no", "nr", "#", "第", "选"} {
		r = strings.TrimSpace(strings.TrimPrefix(r, p))
	}
	for _, s := range []string{"个", "条", "项", "个问题", "."} {
		r = strings.TrimSpace(strings.TrimSuffix(r, s))
	}
	if n, err := strconv.Atoi(r); err == nil {
		return n
	}
	if i := slices.Index([]string{"一", "二", "三", "四", "五", "六", "七", "八", "九"}, r); i >= 0 {
		return i + 1
	}
	if i := slices.Index([]string{"one", "two", "three", "four", "five", "first", "second", "third"}, r); i >= 0 {
		return []int{1, 2, 3, 4, 5, 1, 2, 3}[i]
	}
	return 0
}
