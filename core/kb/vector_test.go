package kb

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
)

// conceptEmbedder embeds a text as the concepts it mentions, so that
// different words for one idea land on one vector.
type conceptEmbedder struct {
	fail  atomic.Bool
	calls atomic.Int32
}

var concepts = [][]string{
	{"refund", "compensation", "repay"},
	{"shipping", "delivery", "parcel", "arrive"},
	{"password", "log in", "sign in"},
}

func (e *conceptEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	e.calls.Add(1)
	if e.fail.Load() {
		return nil, errors.New("model down")
	}
	out := make([][]float32, len(texts))
	for i, text := range texts {
		v := make([]float32, len(concepts)+1)
		v[len(concepts)] = 0.01
		for c, words := range concepts {
			for _, w := range words {
				if strings.Contains(strings.ToLower(text), w) {
					v[c]++
				}
			}
		}
		out[i] = v
	}
	return out, nil
}

func TestVectorSearch(t *testing.T) {
	ctx := context.Background()
	emb := &conceptEmbedder{}
	k, _ := newKB(t, Options{Embedder: emb, EmbedModel: "concepts"})
	importAll(t, k, Input{Name: "faq.csv", Content: []byte(`question,answer
When do I get my refund?,Within 5 business days.
How long is shipping?,3 to 5 days.
How do I reset my password?,Use the Forgot link.
`)})
	n, err := k.EmbedPending(ctx)
	if err != nil || n != 3 {
		t.Fatalf("EmbedPending: %d, %v", n, err)
	}
	if n, _ := k.EmbedPending(ctx); n != 0 {
		t.Errorf("second EmbedPending embedded %d again", n)
	}
	// No word in common with the entry: full text finds nothing, the
	// vectors find it.
	const q = "any compensation?"
	if hits, _ := k.FullText(ctx, q, 3); len(hits) != 0 && hits[0].Title == "When do I get my refund?" {
		t.Fatalf("full text already finds it: %v", titles(hits))
	}
	hits, err := k.Search(ctx, q, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) == 0 || hits[0].Title != "When do I get my refund?" {
		t.Errorf("hybrid search: %v", titles(hits))
	}
	// Fused scores are reciprocal ranks.
	if hits[0].Score > 2.0/(rrfK+1) {
		t.Errorf("score %.4f is not a fused rank score", hits[0].Score)
	}

	// The model down: full text alone.
	emb.fail.Store(true)
	hits, err = k.Search(ctx, "password reset", 3)
	if err != nil || len(hits) == 0 || hits[0].Title != "How do I reset my password?" {
		t.Errorf("search without the model: %v, %v", titles(hits), err)
	}
	emb.fail.Store(false)

	// Another model's vectors are not used, and are made again.
	k2, err := Open(ctx, k.st, Options{Embedder: emb, EmbedModel: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := k2.EmbedPending(ctx); n != 3 {
		t.Errorf("new model: embedded %d, want 3", n)
	}

	// A replaced document's chunks get new vectors; a removed one's go.
	importAll(t, k, Input{Name: "faq.csv", Content: []byte("question,answer\nWhere is my parcel?,Track it in My orders.\n")})
	if n, _ := k.EmbedPending(ctx); n != 1 {
		t.Errorf("after replace: embedded %d, want 1", n)
	}
	hits, _ = k.Search(ctx, "delivery status", 3)
	if len(hits) != 1 || hits[0].Title != "Where is my parcel?" {
		t.Errorf("after replace: %v", titles(hits))
	}
}

func TestNoEmbedder(t *testing.T) {
	k, _ := newKB(t, Options{})
	if _, err := k.EmbedPending(context.Background()); !errors.Is(err, ErrNoEmbedder) {
		t.Errorf("EmbedPending without embedder: %v", err)
	}
	k.RunEmbedder(context.Background(), nil) // returns at once
}

func BenchmarkExactVectorSearch(b *testing.B) {
	for _, dim := range []int{384, 768} {
		const n = 100_000
		s := &vectorSnapshot{dim: dim, nums: make([]uint32, n), rows: make([]float32, n*dim)}
		for i := range s.rows {
			s.rows[i] = float32(i%97) / 97
		}
		for i := range s.nums {
			s.nums[i] = uint32(i)
		}
		q := make([]float32, dim)
		for i := range q {
			q[i] = float32(i%13) / 13
		}
		normalize(q)
		b.Run(strings.Join([]string{"100k", "x", itoa(dim)}, ""), func(b *testing.B) {
			for b.Loop() {
				s.nearest(q, fusionDepth)
			}
		})
	}
}
