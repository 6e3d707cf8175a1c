package kb

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	bolt "go.etcd.io/bbolt"
)

// Embedder turns texts into vectors, one per text. The daemon's model
// plugin is one: sdk.LLM has this Embed.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

const (
	// rrfK is reciprocal rank fusion's constant: a chunk ranked r-th by a
	// method scores 1/(rrfK+r) from it. 60 is the value of the original
	// paper (Cormack et al., 2009), robust across collections.
	rrfK = 60
	// fusionDepth is how many chunks each method contributes to the
	// fusion.
	fusionDepth = 50
	// embedBatch is how many chunks go to the model in one call.
	embedBatch = 32
	// maxEmbedText bounds the text embedded for one chunk, in bytes;
	// embedding models read a few hundred tokens at most.
	maxEmbedText = 2000
	// queryEmbedTimeout bounds the embedding of a query: past it the
	// search goes on with full text alone.
	queryEmbedTimeout = 5 * time.Second
)

// A vector is stored as: model name length (1 byte), model name, then the
// vector's float32 components, little-endian, scaled to unit length so
// that cosine similarity is a dot product.
func encodeVector(model string, v []float32) []byte {
	out := make([]byte, 0, 1+len(model)+4*len(v))
	out = append(out, byte(len(model)))
	out = append(out, model...)
	for _, x := range v {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(x))
	}
	return out
}

// decodeVector returns the model and components of a stored vector.
func decodeVector(data []byte) (string, []byte, bool) {
	if len(data) < 1 || len(data) < 1+int(data[0]) {
		return "", nil, false
	}
	n := int(data[0])
	rest := data[1+n:]
	if len(rest)%4 != 0 {
		return "", nil, false
	}
	return string(data[1 : 1+n]), rest, true
}

// normalize scales v to unit length; false for a zero or invalid vector.
func normalize(v []float32) bool {
	var sum float64
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		return false
	}
	inv := float32(1 / math.Sqrt(sum))
	for i := range v {
		v[i] *= inv
	}
	return true
}

// vectorCache holds the current model's vectors in memory, one matrix row
// per chunk, reloaded when the knowledge base changes. Exact search reads
// every row, which bbolt pages could not feed fast enough.
type vectorCache struct {
	mu   sync.Mutex
	snap *vectorSnapshot
}

type vectorSnapshot struct {
	gen   uint64
	model string
	dim   int
	nums  []uint32
	rows  []float32 // len(nums)*dim
}

// snapshot returns the vectors of r's generation.
func (c *vectorCache) snapshot(r *reader, model string) *vectorSnapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snap != nil && c.snap.gen == r.gen && c.snap.model == model {
		return c.snap
	}
	s := &vectorSnapshot{gen: r.gen, model: model}
	if r.vectors != nil {
		_ = r.vectors.ForEach(func(k, v []byte) error {
			m, comps, ok := decodeVector(v)
			if !ok || m != model || len(comps) == 0 {
				return nil
			}
			dim := len(comps) / 4
			if s.dim == 0 {
				s.dim = dim
			}
			if dim != s.dim {
				return nil
			}
			s.nums = append(s.nums, binary.BigEndian.Uint32(k))
			for i := 0; i < dim; i++ {
				s.rows = append(s.rows, math.Float32frombits(binary.LittleEndian.Uint32(comps[4*i:])))
			}
			return nil
		})
	}
	c.snap = s
	return s
}

// nearest returns the limit rows most similar to q (unit length), best
// first: an exact scan of every row, split across the CPUs.
func (s *vectorSnapshot) nearest(q []float32, limit int) []scored {
	if s.dim == 0 || len(q) != s.dim {
		return nil
	}
	n := len(s.nums)
	workers := min(runtime.GOMAXPROCS(0), max(1, n/4096))
	tops := make([][]scored, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			lo, hi := w*n/workers, (w+1)*n/workers
			part := make([]scored, 0, hi-lo)
			for i := lo; i < hi; i++ {
				part = append(part, scored{num: s.nums[i], score: float64(dot(q, s.rows[i*s.dim:(i+1)*s.dim]))})
			}
			tops[w] = topScored(part, limit)
		})
	}
	wg.Wait()
	var all []scored
	for _, t := range tops {
		all = append(all, t...)
	}
	return topScored(all, limit)
}

// dot is the dot product of two vectors of equal length.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

// fuse merges rankings by reciprocal rank fusion, best first.
func fuse(limit int, rankings ...[]scored) []scored {
	sum := map[uint32]float64{}
	for _, ranking := range rankings {
		for rank, s := range ranking {
			sum[s.num] += 1 / float64(rrfK+rank+1)
		}
	}
	out := make([]scored, 0, len(sum))
	for num, score := range sum {
		out = append(out, scored{num: num, score: score})
	}
	return topScored(out, limit)
}

// Search returns the best limit chunks for text. With an embedder and
// stored vectors it fuses the full-text ranking with the nearest vectors
// by reciprocal rank fusion; without them, or when the model does not
// answer, it is the full-text ranking alone. The full-text ranking of
// Chinese with English words in it fuses those of its readings (see
// englishInChinese) the same way.
func (k *KB) Search(ctx context.Context, text string, limit int) ([]Hit, error) {
	if limit <= 0 {
		return nil, nil
	}
	var qv []float32
	if k.embed != nil {
		ectx, cancel := context.WithTimeout(ctx, queryEmbedTimeout)
		vs, err := k.embed.Embed(ectx, []string{text})
		cancel()
		if err == nil && len(vs) == 1 && normalize(vs[0]) {
			qv = vs[0]
		}
	}
	var hits []Hit
	err := k.st.KBView(func(root *bolt.Bucket) error {
		r, err := newReader(root)
		if err != nil {
			return err
		}
		var nearest []scored
		if qv != nil {
			nearest = k.vectors.snapshot(r, k.model).nearest(qv, fusionDepth)
		}
		readings := mixed.readings(text)
		if len(nearest) == 0 && len(readings) == 1 {
			hits, err = r.fullText(text, limit)
			return err
		}
		var byReading [][]scored
		for _, reading := range readings {
			ranked, err := r.rank(r.query(reading), fusionDepth)
			if err != nil {
				return err
			}
			byReading = append(byReading, ranked)
		}
		lexical := byReading[0]
		if len(byReading) > 1 {
			lexical = fuse(fusionDepth, byReading...)
		}
		rankings := [][]scored{lexical}
		if len(nearest) > 0 {
			rankings = append(rankings, nearest)
		}
		for _, s := range fuse(limit, rankings...) {
			h, err := r.hit(s.num)
			if err != nil {
				return err
			}
			h.Score = s.score
			hits = append(hits, h)
		}
		return nil
	})
	return hits, err
}

// embedText is what is embedded for a chunk.
func embedText(h Hit) string {
	s := h.Title + "\n" + h.Text
	if len(s) > maxEmbedText {
		cut := maxEmbedText
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// ErrNoEmbedder is returned by EmbedPending without an embedder.
var ErrNoEmbedder = errors.New("no embedding model is configured")

// EmbedPending embeds, in batches, every chunk without a vector of the
// current model, and returns how many it stored. Chunks removed meanwhile
// are skipped.
func (k *KB) EmbedPending(ctx context.Context) (int, error) {
	if k.embed == nil {
		return 0, ErrNoEmbedder
	}
	done := 0
	for {
		var batch []Hit
		err := k.st.KBView(func(root *bolt.Bucket) error {
			r, err := newReader(root)
			if err != nil || r.chunks == nil {
				return err
			}
			c := r.chunks.Cursor()
			for key, _ := c.First(); key != nil && len(batch) < embedBatch; key, _ = c.Next() {
				if r.vectors != nil {
					if m, _, ok := decodeVector(r.vectors.Get(key)); ok && m == k.model {
						continue
					}
				}
				h, err := r.hit(binary.BigEndian.Uint32(key))
				if err != nil {
					return err
				}
				batch = append(batch, h)
			}
			return nil
		})
		if err != nil || len(batch) == 0 {
			return done, err
		}
		texts := make([]string, len(batch))
		for i, h := range batch {
			texts[i] = embedText(h)
		}
		vs, err := k.embed.Embed(ctx, texts)
		if err != nil {
			return done, fmt.Errorf("embed %d chunks: %w", len(texts), err)
		}
		if len(vs) != len(batch) {
			return done, fmt.Errorf("embed %d chunks: the model returned %d vectors", len(batch), len(vs))
		}
		for i := range vs {
			if !normalize(vs[i]) {
				return done, fmt.Errorf("embed chunk %s: the model returned an empty or invalid vector", batch[i].ID)
			}
		}
		err = k.st.KBUpdate(ctx, func(root *bolt.Bucket) error {
			chunks, vectors, meta := root.Bucket(bucketChunks), root.Bucket(bucketVectors), root.Bucket(bucketMeta)
			if chunks == nil || vectors == nil || meta == nil {
				return nil
			}
			for i, h := range batch {
				if chunks.Get(u32(h.num)) == nil {
					continue
				}
				if err := vectors.Put(u32(h.num), encodeVector(k.model, vs[i])); err != nil {
					return err
				}
			}
			gen := uint64(0)
			if v := meta.Get(keyGen); v != nil {
				gen = binary.BigEndian.Uint64(v)
			}
			return meta.Put(keyGen, binary.BigEndian.AppendUint64(nil, gen+1))
		})
		if err != nil {
			return done, err
		}
		done += len(batch)
	}
}

func (k *KB) wakeEmbedder() {
	select {
	case k.pending <- struct{}{}:
	default:
	}
}

// RunEmbedder keeps the vectors current until ctx ends: it embeds what is
// missing at once and after every import. While the model fails it tries
// again after a pause that doubles up to five minutes. It returns at once
// without an embedder.
func (k *KB) RunEmbedder(ctx context.Context, log logrus.FieldLogger) {
	if k.embed == nil {
		return
	}
	const minPause, maxPause = time.Second, 5 * time.Minute
	pause := minPause
	for {
		n, err := k.EmbedPending(ctx)
		if n > 0 {
			log.WithField("chunks", n).Info("knowledge base: embedded chunks")
		}
		wait := time.Duration(0)
		if err != nil && ctx.Err() == nil {
			log.WithError(err).WithField("retry_in", pause.String()).Warn("knowledge base: embedding failed; searching by full text meanwhile")
			wait = pause
			pause = min(2*pause, maxPause)
		} else {
			pause = minPause
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-k.pending:
		}
	}
}
