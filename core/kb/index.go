package kb

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// The knowledge base lives in nested buckets of the store's "kb" bucket,
// so a document, its chunks and its postings change in one transaction:
//
//	meta      "version": analyzer version; "next": next chunk number;
//	          "stats": corpus statistics; "gen": write generation
//	docs      document ID → docRecord (JSON)
//	chunks    chunk number (uint32) → chunkRecord (JSON)
//	postings  term 0x00 segment (uint32) → block of postings
//	vocab     term → number of chunks holding it (uint32)
//	fuzzy     term with one character deleted 0x00 term → ""
//	vectors   chunk number → embedding (see vector.go)
//
// Search units. Each chunk has up to 16 units, numbered chunk<<4 | slot:
// slot 0 is the question of an FAQ entry or the heading path of a
// passage, slots 1–14 the alternates (further ones share slot 14) and
// slot 15 the answer or passage text. A posting names a unit, so question
// and alternates are scored apart and the best phrasing counts.
//
// Postings of a term are cut into segments of 2^15 units (2,048 chunks)
// stored under their own keys: chunk numbers only grow, so an import
// rewrites the last segment of each of its terms and never a list as long
// as the whole corpus. A block is a sequence of (uvarint unit delta from
// the previous unit or the segment's first unit, term frequency byte,
// quantised unit length byte).
var (
	bucketMeta     = []byte("meta")
	bucketDocs     = []byte("docs")
	bucketChunks   = []byte("chunks")
	bucketPostings = []byte("postings")
	bucketVocab    = []byte("vocab")
	bucketFuzzy    = []byte("fuzzy")
	bucketVectors  = []byte("vectors")

	nestedBuckets = [][]byte{bucketMeta, bucketDocs, bucketChunks, bucketPostings, bucketVocab, bucketFuzzy, bucketVectors}

	keyVersion = []byte("version")
	keyNext    = []byte("next")
	keyStats   = []byte("stats")
	keyGen     = []byte("gen")
)

const (
	slotBits    = 4
	bodySlot    = 1<<slotBits - 1 // 15
	maxAltSlot  = bodySlot - 1    // 14
	segmentBits = 15
	// maxChunkNum keeps unit numbers (chunk<<4 | slot) within uint32.
	maxChunkNum = 1<<(32-slotBits) - 1
	// minFuzzyLen is the shortest term matched with one typo: shorter
	// words have too many neighbours one edit away.
	minFuzzyLen = 5
)

// docRecord is a stored document.
type docRecord struct {
	Document
	// Nums are the chunk numbers, in document order.
	Nums []uint32 `json:"nums"`
}

// chunkRecord is a stored chunk.
type chunkRecord struct {
	Doc string `json:"doc"`
	Seq int    `json:"seq"` // 1-based position in the document
	Chunk
}

// id is the chunk's public ID: its document's ID and position.
func (c *chunkRecord) id() string { return fmt.Sprintf("%s-%d", c.Doc, c.Seq) }

// stats are the corpus statistics BM25 needs.
type stats struct {
	Chunks int64 `json:"chunks"`
	QUnits int64 `json:"q_units"` // question, alternate and heading units
	QLen   int64 `json:"q_len"`   // their total length in terms
	BUnits int64 `json:"b_units"` // answer and passage units
	BLen   int64 `json:"b_len"`
}

func (s *stats) avgQ() float64 { return avg(s.QLen, s.QUnits) }
func (s *stats) avgB() float64 { return avg(s.BLen, s.BUnits) }

func avg(total, n int64) float64 {
	if n == 0 {
		return 1
	}
	return max(float64(total)/float64(n), 1)
}

// posting is one unit holding a term.
type posting struct {
	unit uint32
	tf   uint8
	ln   uint8 // quantLen of the unit's length
}

// unitTerms is what one unit contributes to the index.
type unitTerms struct {
	slot   uint32
	length int
	tf     map[string]int
}

// chunkUnits analyses a chunk's units.
func chunkUnits(c *Chunk) []unitTerms {
	var out []unitTerms
	add := func(slot uint32, text string) {
		toks := analyze(text)
		if len(toks) == 0 {
			return
		}
		// Alternates past the last slot share it.
		if n := len(out); n > 0 && out[n-1].slot == slot {
			u := &out[n-1]
			u.length += len(toks)
			for _, t := range toks {
				u.tf[t.term]++
			}
			return
		}
		u := unitTerms{slot: slot, length: len(toks), tf: map[string]int{}}
		for _, t := range toks {
			u.tf[t.term]++
		}
		out = append(out, u)
	}
	add(0, c.Title)
	for i, alt := range c.Alternates {
		add(uint32(min(i+1, maxAltSlot)), alt)
	}
	add(bodySlot, c.Text)
	return out
}

func quantLen(n int) uint8 {
	if n <= 127 {
		return uint8(n)
	}
	return uint8(min(128+(n-128)/16, 255))
}

func dequantLen(b uint8) float64 {
	if b <= 127 {
		return float64(b)
	}
	return float64(128 + int(b-128)*16 + 8)
}

func segmentKey(term string, seg uint32) []byte {
	k := make([]byte, 0, len(term)+5)
	k = append(k, term...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint32(k, seg)
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func appendBlock(dst []byte, base uint32, ps []posting) []byte {
	prev := base
	for _, p := range ps {
		dst = binary.AppendUvarint(dst, uint64(p.unit-prev))
		dst = append(dst, p.tf, p.ln)
		prev = p.unit
	}
	return dst
}

// decodeBlock calls fn for each posting of a block of segment seg.
func decodeBlock(seg uint32, data []byte, fn func(p posting)) error {
	prev := seg << segmentBits
	for len(data) > 0 {
		d, n := binary.Uvarint(data)
		if n <= 0 || len(data) < n+2 {
			return fmt.Errorf("corrupt postings block")
		}
		prev += uint32(d)
		fn(posting{unit: prev, tf: data[n], ln: data[n+1]})
		data = data[n+2:]
	}
	return nil
}

// termChange is what a transaction changes for one term.
type termChange struct {
	adds []posting       // in unit order: chunks are numbered as added
	dels map[uint32]bool // units removed
	df   int             // change of the number of chunks holding it
}

// writer gathers the index changes of one transaction and applies them
// with one rewrite per touched postings key.
type writer struct {
	root  *bolt.Bucket
	b     map[string]*bolt.Bucket
	terms map[string]*termChange
	stats stats
	next  uint32
}

func newWriter(root *bolt.Bucket) (*writer, error) {
	w := &writer{root: root, b: map[string]*bolt.Bucket{}, terms: map[string]*termChange{}}
	for _, name := range nestedBuckets {
		b, err := root.CreateBucketIfNotExists(name)
		if err != nil {
			return nil, fmt.Errorf("create bucket kb/%s: %w", name, err)
		}
		w.b[string(name)] = b
	}
	for _, name := range []string{string(bucketChunks), string(bucketVectors)} {
		w.b[name].FillPercent = 0.9 // keys only grow; postings keys do not
	}
	meta := w.b[string(bucketMeta)]
	if v := meta.Get(keyNext); v != nil {
		w.next = binary.BigEndian.Uint32(v)
	}
	if v := meta.Get(keyStats); v != nil {
		if err := json.Unmarshal(v, &w.stats); err != nil {
			return nil, fmt.Errorf("decode kb stats: %w", err)
		}
	}
	return w, nil
}

// addChunk stores a chunk and queues its postings; units are its
// analysed units (chunkUnits).
func (w *writer) addChunk(rec *chunkRecord, units []unitTerms) (uint32, error) {
	if w.next > maxChunkNum {
		return 0, fmt.Errorf("the knowledge base is full (%d chunks were ever stored)", maxChunkNum)
	}
	num := w.next
	w.next++
	data, err := json.Marshal(rec)
	if err != nil {
		return 0, err
	}
	if err := w.b[string(bucketChunks)].Put(u32(num), data); err != nil {
		return 0, err
	}
	w.indexChunk(num, units)
	return num, nil
}

// indexChunk queues the postings of a stored chunk, given its analysed
// units (chunkUnits).
func (w *writer) indexChunk(num uint32, units []unitTerms) {
	w.stats.Chunks++
	seen := map[string]bool{}
	for _, u := range units {
		w.count(u, 1)
		unit := num<<slotBits | u.slot
		ln := quantLen(u.length)
		for term, tf := range u.tf {
			tc := w.term(term)
			tc.adds = append(tc.adds, posting{unit: unit, tf: uint8(min(tf, 255)), ln: ln})
			if !seen[term] {
				seen[term] = true
				tc.df++
			}
		}
	}
}

// removeChunk deletes a chunk and queues the removal of its postings.
func (w *writer) removeChunk(num uint32) error {
	chunks := w.b[string(bucketChunks)]
	data := chunks.Get(u32(num))
	if data == nil {
		return nil
	}
	var rec chunkRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return fmt.Errorf("decode chunk %d: %w", num, err)
	}
	w.stats.Chunks--
	seen := map[string]bool{}
	for _, u := range chunkUnits(&rec.Chunk) {
		w.count(u, -1)
		unit := num<<slotBits | u.slot
		for term := range u.tf {
			tc := w.term(term)
			if tc.dels == nil {
				tc.dels = map[uint32]bool{}
			}
			tc.dels[unit] = true
			if !seen[term] {
				seen[term] = true
				tc.df--
			}
		}
	}
	if err := chunks.Delete(u32(num)); err != nil {
		return err
	}
	return w.b[string(bucketVectors)].Delete(u32(num))
}

func (w *writer) count(u unitTerms, sign int64) {
	if u.slot == bodySlot {
		w.stats.BUnits += sign
		w.stats.BLen += sign * int64(u.length)
	} else {
		w.stats.QUnits += sign
		w.stats.QLen += sign * int64(u.length)
	}
}

func (w *writer) term(t string) *termChange {
	tc := w.terms[t]
	if tc == nil {
		tc = &termChange{}
		w.terms[t] = tc
	}
	return tc
}

// flush writes the queued postings, vocabulary and statistics.
func (w *writer) flush() error {
	post := w.b[string(bucketPostings)]
	vocab, fuzzy := w.b[string(bucketVocab)], w.b[string(bucketFuzzy)]
	var buf []byte
	for _, term := range slices.Sorted(maps.Keys(w.terms)) {
		tc := w.terms[term]
		// The segments this term's changes touch.
		var segs []uint32
		for _, p := range tc.adds {
			if seg := p.unit >> segmentBits; len(segs) == 0 || segs[len(segs)-1] != seg {
				segs = append(segs, seg)
			}
		}
		for unit := range tc.dels {
			segs = append(segs, unit>>segmentBits)
		}
		slices.Sort(segs)
		segs = slices.Compact(segs)
		for _, seg := range segs {
			key := segmentKey(term, seg)
			var kept []posting
			if old := post.Get(key); old != nil {
				if err := decodeBlock(seg, old, func(p posting) {
					if !tc.dels[p.unit] {
						kept = append(kept, p)
					}
				}); err != nil {
					return fmt.Errorf("postings of %q: %w", term, err)
				}
			}
			for _, p := range tc.adds {
				if p.unit>>segmentBits == seg {
					kept = append(kept, p)
				}
			}
			if len(kept) == 0 {
				if err := post.Delete(key); err != nil {
					return err
				}
				continue
			}
			// New chunk numbers are above every stored one, but a rebuild
			// after removals can interleave: keep blocks sorted.
			slices.SortFunc(kept, func(a, b posting) int { return cmp.Compare(a.unit, b.unit) })
			buf = appendBlock(buf[:0], seg<<segmentBits, kept)
			if err := post.Put(key, bytes.Clone(buf)); err != nil {
				return err
			}
		}
		if tc.df == 0 {
			continue
		}
		old := 0
		if v := vocab.Get([]byte(term)); v != nil {
			old = int(binary.BigEndian.Uint32(v))
		}
		switch n := old + tc.df; {
		case n <= 0:
			if err := vocab.Delete([]byte(term)); err != nil {
				return err
			}
			if err := forEachVariant(term, func(v []byte) error { return fuzzy.Delete(v) }); err != nil {
				return err
			}
		default:
			if err := vocab.Put([]byte(term), u32(uint32(n))); err != nil {
				return err
			}
			if old == 0 {
				if err := forEachVariant(term, func(v []byte) error { return fuzzy.Put(v, nil) }); err != nil {
					return err
				}
			}
		}
	}
	meta := w.b[string(bucketMeta)]
	st, err := json.Marshal(w.stats)
	if err != nil {
		return err
	}
	gen := uint64(0)
	if v := meta.Get(keyGen); v != nil {
		gen = binary.BigEndian.Uint64(v)
	}
	for k, v := range map[string][]byte{
		string(keyStats):   st,
		string(keyNext):    u32(w.next),
		string(keyGen):     binary.BigEndian.AppendUint64(nil, gen+1),
		string(keyVersion): []byte(analyzerVersion),
	} {
		if err := meta.Put([]byte(k), v); err != nil {
			return err
		}
	}
	return nil
}

// fuzzyEligible reports whether term is matched with a typo: a word of
// at least minFuzzyLen letters, not a CJK term or a number.
func fuzzyEligible(term string) bool {
	if utf8.RuneCountInString(term) < minFuzzyLen {
		return false
	}
	for _, r := range term {
		if isCJK(r) || r >= '0' && r <= '9' {
			return false
		}
	}
	return true
}

// deletions returns term with each of its characters deleted in turn.
func deletions(term string) []string {
	rs := []rune(term)
	out := make([]string, 0, len(rs))
	for i := range rs {
		d := string(rs[:i]) + string(rs[i+1:])
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// forEachVariant calls fn with the fuzzy bucket keys of term.
func forEachVariant(term string, fn func(key []byte) error) error {
	if !fuzzyEligible(term) {
		return nil
	}
	for _, d := range deletions(term) {
		if err := fn([]byte(d + "\x00" + term)); err != nil {
			return err
		}
	}
	return nil
}

// analyzeChunks returns the units of each chunk, analysed on every CPU:
// analysis is most of an import's work, and it needs no transaction.
func analyzeChunks(chunks []Chunk) [][]unitTerms {
	out := make([][]unitTerms, len(chunks))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(chunks)/64))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(chunks); i += workers {
				out[i] = chunkUnits(&chunks[i])
			}
		})
	}
	wg.Wait()
	return out
}
