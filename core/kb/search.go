package kb

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/english"
	bolt "go.etcd.io/bbolt"
)

// Ranking parameters. BM25 with the usual k1; the question, alternates and
// headings (short texts, where a repeated word says little) are
// normalised for length more gently than answers and passages. A match in
// the question field counts questionWeight times a match in the answer,
// so for an FAQ the question and its alternates decide first.
const (
	bm25K1         = 1.2
	bm25BQuestion  = 0.3
	bm25BBody      = 0.75
	questionWeight = 2.0
	bodyWeight     = 1.0
	// fuzzyWeight discounts a term matched with one typo.
	fuzzyWeight = 0.8
	// unigramWeight discounts a single CJK character: a matched bigram
	// says much more.
	unigramWeight = 0.3
	// maxQueryTerms bounds the distinct terms of a query.
	maxQueryTerms = 64
)

// Hit is a chunk found by a search.
type Hit struct {
	// ID is the chunk's ID: its document's ID and its position in it.
	ID string `json:"id"`
	// Document is the ID of the document holding the chunk.
	Document string `json:"document"`
	// DocumentName is the name of that document.
	DocumentName string `json:"document_name"`
	// Kind is KindFAQ or KindSection.
	Kind string `json:"kind"`
	// Title is the question of an FAQ entry or the heading path of a
	// passage.
	Title string `json:"title"`
	// Alternates are an FAQ entry's other phrasings.
	Alternates []string `json:"alternates,omitempty"`
	// Text is the entry's answer or the passage.
	Text string `json:"text"`
	// Score ranks the hits: BM25 for a full-text search, reciprocal rank
	// fusion when vectors take part.
	Score float64 `json:"score"`

	num uint32
}

// reader reads the index in one read transaction.
type reader struct {
	docs, chunks, post, vocab, fuzzy, vectors *bolt.Bucket
	stats                                     stats
	gen                                       uint64
	docNames                                  map[string]string
}

// newReader opens the index of root, which may be nil (an empty index).
func newReader(root *bolt.Bucket) (*reader, error) {
	r := &reader{docNames: map[string]string{}}
	if root == nil {
		return r, nil
	}
	r.docs, r.chunks, r.post = root.Bucket(bucketDocs), root.Bucket(bucketChunks), root.Bucket(bucketPostings)
	r.vocab, r.fuzzy, r.vectors = root.Bucket(bucketVocab), root.Bucket(bucketFuzzy), root.Bucket(bucketVectors)
	if meta := root.Bucket(bucketMeta); meta != nil {
		if v := meta.Get(keyStats); v != nil {
			if err := json.Unmarshal(v, &r.stats); err != nil {
				return nil, fmt.Errorf("decode kb stats: %w", err)
			}
		}
		if v := meta.Get(keyGen); v != nil {
			r.gen = binary.BigEndian.Uint64(v)
		}
	}
	return r, nil
}

// df is the number of chunks holding term.
func (r *reader) df(term string) int {
	if r.vocab == nil {
		return 0
	}
	if v := r.vocab.Get([]byte(term)); v != nil {
		return int(binary.BigEndian.Uint32(v))
	}
	return 0
}

// idf is BM25's inverse document frequency (never negative).
func (r *reader) idf(df int) float64 {
	n := float64(r.stats.Chunks)
	return math.Log(1 + (n-float64(df)+0.5)/(float64(df)+0.5))
}

func (r *reader) doc(id string) (docRecord, bool, error) {
	var rec docRecord
	if r.docs == nil {
		return rec, false, nil
	}
	v := r.docs.Get([]byte(id))
	if v == nil {
		return rec, false, nil
	}
	if err := json.Unmarshal(v, &rec); err != nil {
		return rec, false, fmt.Errorf("decode document %s: %w", id, err)
	}
	return rec, true, nil
}

// hit loads chunk num.
func (r *reader) hit(num uint32) (Hit, error) {
	var rec chunkRecord
	if r.chunks == nil {
		return Hit{}, fmt.Errorf("chunk %d: %w", num, ErrNotFound)
	}
	v := r.chunks.Get(u32(num))
	if v == nil {
		return Hit{}, fmt.Errorf("chunk %d: %w", num, ErrNotFound)
	}
	if err := json.Unmarshal(v, &rec); err != nil {
		return Hit{}, fmt.Errorf("decode chunk %d: %w", num, err)
	}
	name, ok := r.docNames[rec.Doc]
	if !ok {
		d, _, err := r.doc(rec.Doc)
		if err != nil {
			return Hit{}, err
		}
		name = d.Name
		r.docNames[rec.Doc] = name
	}
	return Hit{ID: rec.id(), Document: rec.Doc, DocumentName: name, Kind: rec.Kind, Title: rec.Title,
		Alternates: rec.Alternates, Text: rec.Text, num: num}, nil
}

// queryTerm is one distinct term of a query, with the vocabulary terms it
// matches: itself when known, else those one typo away.
type queryTerm struct {
	term    string
	matches []termMatch
}

type termMatch struct {
	term   string
	idf    float64
	weight float64 // 1, or fuzzyWeight for a typo
}

// query analyses text against the vocabulary.
func (r *reader) query(text string) []queryTerm {
	var out []queryTerm
	seen := map[string]bool{}
	for _, t := range analyze(text) {
		if seen[t.term] || len(out) == maxQueryTerms {
			continue
		}
		seen[t.term] = true
		q := queryTerm{term: t.term}
		if df := r.df(t.term); df > 0 {
			w := 1.0
			if t.uni {
				w = unigramWeight
			}
			q.matches = []termMatch{{term: t.term, idf: r.idf(df), weight: w}}
		} else {
			for _, near := range r.nearTerms(t.term) {
				q.matches = append(q.matches, termMatch{term: near, idf: r.idf(r.df(near)), weight: fuzzyWeight})
			}
		}
		out = append(out, q)
	}
	return out
}

// nearTerms finds the vocabulary terms one edit (insertion, deletion,
// substitution or swap of neighbours) away from an unknown term, with the
// symmetric-deletion method: two words are one edit apart only if they are
// equal after deleting at most one character from each, so the index
// keeps each term's single deletions and a lookup probes the query's.
func (r *reader) nearTerms(term string) []string {
	if r.fuzzy == nil || !fuzzyEligible(term) {
		return nil
	}
	found := map[string]bool{}
	probe := func(variant string) {
		prefix := []byte(variant + "\x00")
		c := r.fuzzy.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			found[string(k[len(prefix):])] = true
		}
	}
	probe(term) // the term lacks a character of a known one
	for _, d := range deletions(term) {
		if r.df(d) > 0 { // the term has an extra character
			found[d] = true
		}
		probe(d) // substitution or swap
	}
	var out []string
	for cand := range found {
		if cand != term && osaDistance(cand, term) == 1 {
			out = append(out, cand)
		}
	}
	for _, cand := range r.restemmed(term) {
		if !slices.Contains(out, cand) {
			out = append(out, cand)
		}
	}
	slices.Sort(out)
	return out
}

// restemmed finds the known terms that a word one edit away from an
// unknown English term stems to. A typo in a word's ending hides the
// suffix the stemmer would strip: "confirmaton" is one edit from
// "confirmation", whose stem "confirm" is four from it.
func (r *reader) restemmed(term string) []string {
	if !isASCIILetters(term) {
		return nil
	}
	env := snowballstem.NewEnv("")
	var out []string
	seen := map[string]bool{term: true}
	for _, v := range edits(term) {
		env.SetCurrent(v)
		english.Stem(env)
		s := synonyms.fold(env.Current())
		if seen[s] {
			continue
		}
		seen[s] = true
		// The stem must be the start of the word, but for its last
		// letter (stems end in i for y), and the rest a suffix of three
		// letters or more (-ation, -ment, -ing): the typo is in the
		// suffix, and "charger" is no typo of "charged".
		if len(s) >= minFuzzyLen && len(term)-len(s) >= minSuffix && strings.HasPrefix(term, s[:len(s)-1]) && r.df(s) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// minSuffix is the shortest suffix restemmed looks behind.
const minSuffix = 3

// edits returns the words one insertion, deletion, substitution or swap of
// neighbours away from an ASCII lower-case word.
func edits(w string) []string {
	var out []string
	for i := 0; i <= len(w); i++ {
		for c := byte('a'); c <= 'z'; c++ {
			out = append(out, w[:i]+string(c)+w[i:])
			if i < len(w) && w[i] != c {
				out = append(out, w[:i]+string(c)+w[i+1:])
			}
		}
		if i < len(w) {
			out = append(out, w[:i]+w[i+1:])
		}
		if i+1 < len(w) && w[i] != w[i+1] {
			out = append(out, w[:i]+string(w[i+1])+string(w[i])+w[i+2:])
		}
	}
	return out
}

// osaDistance is the optimal string alignment distance: Levenshtein with
// swaps of neighbouring characters counting as one edit.
func osaDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range rb {
		d[0][j+1] = j + 1
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// scored is a chunk's full-text score.
type scored struct {
	num   uint32
	score float64
}

// unitAcc accumulates one unit's score.
type unitAcc struct {
	bm float64
}

// rank scores every chunk that holds a query term and returns the best
// limit, best first.
func (r *reader) rank(qs []queryTerm, limit int) ([]scored, error) {
	if r.post == nil || len(qs) == 0 || limit <= 0 {
		return nil, nil
	}
	avgQ, avgB := r.stats.avgQ(), r.stats.avgB()
	units := map[uint32]*unitAcc{}
	for _, q := range qs {
		for _, m := range q.matches {
			prefix := []byte(m.term + "\x00")
			c := r.post.Cursor()
			for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
				if len(k) != len(prefix)+4 {
					continue
				}
				seg := binary.BigEndian.Uint32(k[len(prefix):])
				err := decodeBlock(seg, v, func(p posting) {
					b, avgLen := bm25BQuestion, avgQ
					if p.unit&bodySlot == bodySlot {
						b, avgLen = bm25BBody, avgB
					}
					tf := float64(p.tf)
					s := m.idf * m.weight * tf * (bm25K1 + 1) / (tf + bm25K1*(1-b+b*dequantLen(p.ln)/avgLen))
					a := units[p.unit]
					if a == nil {
						a = &unitAcc{}
						units[p.unit] = a
					}
					a.bm += s
				})
				if err != nil {
					return nil, fmt.Errorf("postings of %q: %w", m.term, err)
				}
			}
		}
	}
	type chunkAcc struct{ q, body float64 }
	chunks := make(map[uint32]*chunkAcc, len(units))
	for unit, a := range units {
		num := unit >> slotBits
		c := chunks[num]
		if c == nil {
			c = &chunkAcc{}
			chunks[num] = c
		}
		if unit&bodySlot == bodySlot {
			c.body = a.bm
		} else {
			c.q = max(c.q, a.bm)
		}
	}
	out := make([]scored, 0, len(chunks))
	for num, c := range chunks {
		out = append(out, scored{num: num, score: questionWeight*c.q + bodyWeight*c.body})
	}
	return topScored(out, limit), nil
}

// topScored sorts the best limit of s first; ties go to the older chunk.
func topScored(s []scored, limit int) []scored {
	cmpScored := func(a, b scored) int { return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(a.num, b.num)) }
	if len(s) > 4*limit {
		// Partial selection: keep a bounded, sorted window.
		top := make([]scored, 0, limit+1)
		for _, x := range s {
			if len(top) == limit && cmpScored(x, top[limit-1]) >= 0 {
				continue
			}
			i, _ := slices.BinarySearchFunc(top, x, cmpScored)
			top = slices.Insert(top, i, x)
			if len(top) > limit {
				top = top[:limit]
			}
		}
		return top
	}
	slices.SortFunc(s, cmpScored)
	if len(s) > limit {
		s = s[:limit]
	}
	return s
}

// FullText returns the best limit chunks for text by full-text ranking
// alone.
func (k *KB) FullText(ctx context.Context, text string, limit int) ([]Hit, error) {
	var hits []Hit
	err := k.st.KBView(func(root *bolt.Bucket) error {
		r, err := newReader(root)
		if err != nil {
			return err
		}
		hits, err = r.fullText(text, limit)
		return err
	})
	return hits, err
}

func (r *reader) fullText(text string, limit int) ([]Hit, error) {
	top, err := r.rank(r.query(text), limit)
	if err != nil {
		return nil, err
	}
	hits := make([]Hit, 0, len(top))
	for _, s := range top {
		h, err := r.hit(s.num)
		if err != nil {
			return nil, err
		}
		h.Score = s.score
		hits = append(hits, h)
	}
	return hits, nil
}
