package kb

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/core/store"
)

func openStore(t *testing.T, path string) *store.Store {
	t.Helper()
	st, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newKB(t *testing.T, opts Options) (*KB, *store.Store) {
	t.Helper()
	st := openStore(t, filepath.Join(t.TempDir(), "kb.db"))
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC) }
	}
	k, err := Open(context.Background(), st, opts)
	if err != nil {
		t.Fatal(err)
	}
	return k, st
}

const shopFAQ = `question,answer,alternates
How long does shipping take?,Standard shipping takes 3–5 business days.,Delivery time|When will my order arrive
How much does shipping cost?,Shipping is $5.99 and free over $50.,Shipping fees|Is shipping free
What is your return policy?,Return unused items within 30 days for a refund.,Can I return something
How do I reset my password?,"Click Sign in, then Forgot password.",Forgot my password|Can't log in
Can I cancel my order?,Within 1 hour of ordering under My orders.,Cancel an order
`

const shopFAQzh = `question,answer,alternates
退款多久到账？,收到退货后 3 个工作日内退款，原路退回。,退款什么时候到|钱还没退回来
运费是多少？,标准配送运费 5.99 美元，满 50 美元免运费。,包邮吗|邮费怎么算
门店营业时间是几点？,门店周一至周六 10:00–19:00 营业。,几点开门|几点关门
`

const shopFAQja = `question,answer
返品はできますか？,商品到着後30日以内であれば返品できます。
配送料はいくらですか？,50ドル以上のご注文は送料無料です。
`

func importAll(t *testing.T, k *KB, ins ...Input) []Imported {
	t.Helper()
	out, err := k.ImportAll(context.Background(), ins)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func titles(hits []Hit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, h.Title)
	}
	return out
}

// indexKeys counts the keys of a nested bucket of the knowledge base.
func indexKeys(t *testing.T, st *store.Store, bucket []byte) int {
	t.Helper()
	n := 0
	err := st.KBView(func(root *bolt.Bucket) error {
		if root == nil || root.Bucket(bucket) == nil {
			return nil
		}
		n = root.Bucket(bucket).Stats().KeyN
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportIdempotentReplaceRemove(t *testing.T) {
	ctx := context.Background()
	k, st := newKB(t, Options{})
	in := Input{Name: "faq/shop.csv", Content: []byte(shopFAQ)}
	first := importAll(t, k, in)
	if first[0].Status != Created || first[0].Chunks != 5 || first[0].Format != FormatCSV || first[0].ID != DocumentID("faq/shop.csv") {
		t.Fatalf("first import: %+v", first[0])
	}
	gen, _ := k.generation()
	postings := indexKeys(t, st, bucketPostings)

	again := importAll(t, k, in)
	if again[0].Status != Unchanged {
		t.Errorf("same content again: %s, want unchanged", again[0].Status)
	}
	if gen2, _ := k.generation(); gen2 != gen {
		t.Errorf("an unchanged import wrote (generation %d → %d)", gen, gen2)
	}
	if n := indexKeys(t, st, bucketChunks); n != 5 {
		t.Errorf("%d chunks stored, want 5", n)
	}

	// A new version replaces the old one whole.
	changed := strings.Replace(shopFAQ, "3–5 business days", "2–4 business days", 1)
	changed = strings.Replace(changed, "What is your return policy?,Return unused items within 30 days for a refund.,Can I return something\n", "", 1)
	res := importAll(t, k, Input{Name: "faq/shop.csv", Content: []byte(changed)})
	if res[0].Status != Replaced || res[0].Chunks != 4 {
		t.Fatalf("replace: %+v", res[0])
	}
	hits, err := k.FullText(ctx, "return policy refund", 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hits {
		if strings.Contains(h.Title, "return") {
			t.Errorf("the removed entry is still found: %+v", h)
		}
	}
	hits, _ = k.FullText(ctx, "shipping time", 1)
	if len(hits) != 1 || !strings.Contains(hits[0].Text, "2–4") {
		t.Errorf("after replace, shipping: %+v", hits)
	}

	// Removal leaves no chunk, posting, vocabulary or typo entry behind.
	if _, err := k.Remove(ctx, res[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Remove(ctx, res[0].ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second remove: %v, want ErrNotFound", err)
	}
	for _, b := range [][]byte{bucketDocs, bucketChunks, bucketPostings, bucketVocab, bucketFuzzy} {
		if n := indexKeys(t, st, b); n != 0 {
			t.Errorf("bucket %s keeps %d keys after removal", b, n)
		}
	}
	if postings == 0 {
		t.Error("the import wrote no postings")
	}
	if hits, _ := k.FullText(ctx, "shipping", 5); len(hits) != 0 {
		t.Errorf("search after removal: %v", titles(hits))
	}
	// Remove by name works too.
	importAll(t, k, in)
	if d, err := k.Remove(ctx, "faq/shop.csv"); err != nil || d.Name != "faq/shop.csv" {
		t.Errorf("remove by name: %+v, %v", d, err)
	}
}

func TestImportAllIsAllOrNothing(t *testing.T) {
	k, st := newKB(t, Options{})
	_, err := k.ImportAll(context.Background(), []Input{
		{Name: "good.csv", Content: []byte(shopFAQ)},
		{Name: "bad.csv", Content: []byte("question,answer\nq\n")},
	})
	var pe *ParseError
	if !errors.As(err, &pe) || pe.File != "bad.csv" || pe.Line != 2 {
		t.Fatalf("got %v, want a parse error for bad.csv line 2", err)
	}
	if n := indexKeys(t, st, bucketDocs); n != 0 {
		t.Errorf("%d documents stored after a failed batch", n)
	}
	for _, in := range []Input{{Name: "", Content: []byte("x")}, {Name: "a\nb.txt", Content: []byte("x")}, {Name: "x.pdf", Content: []byte("x")}} {
		if _, err := k.Import(context.Background(), in); err == nil {
			t.Errorf("%q imported", in.Name)
		}
	}
}

func TestSearchCJKAndTypos(t *testing.T) {
	k, _ := newKB(t, Options{})
	importAll(t, k,
		Input{Name: "en.csv", Content: []byte(shopFAQ)},
		Input{Name: "zh.csv", Content: []byte(shopFAQzh)},
		Input{Name: "ja.csv", Content: []byte(shopFAQja)},
	)
	for _, tc := range []struct{ query, want string }{
		{"退款几天能到账", "退款多久到账？"},
		{"你们几点关门", "门店营业时间是几点？"},
		{"买多少钱包邮", "运费是多少？"},
		{"返品したいです", "返品はできますか？"},
		{"送料", "配送料はいくらですか？"},
		{"how long is shiping", "How long does shipping take?"},
		{"forgot pasword", "How do I reset my password?"},
		{"cancelaton", "Can I cancel my order?"}, // cancelation, stem cancel
		{"ＣＡＮＣＥＬ my order", "Can I cancel my order?"},
	} {
		hits, err := k.FullText(context.Background(), tc.query, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) == 0 || hits[0].Title != tc.want {
			t.Errorf("%q: got %v, want %q first", tc.query, titles(hits), tc.want)
		}
	}
	// Whitespace tokenising would make the whole Chinese sentence one
	// term and find nothing.
	if terms := terms("退款多久到账"); !slices.Contains(terms, "退款") || !slices.Contains(terms, "到账") {
		t.Errorf("terms of a Chinese sentence: %v", terms)
	}
}

func TestAnswerer(t *testing.T) {
	ctx := context.Background()
	k, _ := newKB(t, Options{})
	importAll(t, k, Input{Name: "en.csv", Content: []byte(shopFAQ)}, Input{Name: "zh.csv", Content: []byte(shopFAQzh)},
		Input{Name: "care.md", Content: []byte("# Care\n## Kettles\nDescale your kettle monthly with vinegar.\n")})
	// The confidence is the calibrated one: near the defaults, with a
	// wider band for suggestions (a one-word question matches its entries
	// weakly: "shipping" gives the two shipping entries 0.51 and 0.23).
	a := k.Answerer(Thresholds{Answer: 0.72, Margin: 0.01, Suggest: 0.2})

	d, err := a.Decide(ctx, "i forgot my password, cant log in")
	if err != nil {
		t.Fatal(err)
	}
	if d.Outcome != Answer || d.Entry.Title != "How do I reset my password?" || d.Entry.Text != "Click Sign in, then Forgot password." {
		t.Errorf("clear question: %v %+v (candidates %v)", d.Outcome, d.Entry, titles(d.Candidates))
	}

	d, err = a.Decide(ctx, "shipping")
	if err != nil {
		t.Fatal(err)
	}
	if d.Outcome != Suggest || len(d.Suggestions) < 2 || len(d.Suggestions) > MaxSuggestions {
		t.Fatalf("ambiguous question: %v %+v", d.Outcome, d.Suggestions)
	}
	var qs []string
	for _, s := range d.Suggestions {
		qs = append(qs, s.Question)
	}
	if !slices.Contains(qs, "How long does shipping take?") || !slices.Contains(qs, "How much does shipping cost?") {
		t.Errorf("suggestions %v", qs)
	}

	d, err = a.Decide(ctx, "are you hiring warehouse staff?")
	if err != nil {
		t.Fatal(err)
	}
	if d.Outcome != NoMatch || d.Score >= 0.3 {
		t.Errorf("out of scope: %v score %.2f (%v)", d.Outcome, d.Score, titles(d.Candidates))
	}
	// Document sections are never answered verbatim.
	d, _ = a.Decide(ctx, "descale kettle vinegar")
	if d.Outcome == Answer {
		t.Errorf("answered from a document section: %+v", d.Entry)
	}
	d, _ = a.Decide(ctx, "退款什么时候能到")
	if d.Outcome != Answer || d.Entry.Title != "退款多久到账？" {
		t.Errorf("Chinese: %v %+v", d.Outcome, titles(d.Candidates))
	}

	// Picking a suggestion.
	offered := []Suggestion{
		{ID: DocumentID("en.csv") + "-1", Question: "How long does shipping take?"},
		{ID: DocumentID("en.csv") + "-2", Question: "How much does shipping cost?"},
	}
	for reply, want := range map[string]string{
		"2": "How much does shipping cost?", " #1 ": "How long does shipping take?", "第二个": "How much does shipping cost?",
		"２": "How much does shipping cost?", "how long does shipping take": "How long does shipping take?",
		"option 1.": "How long does shipping take?", "second": "How much does shipping cost?",
	} {
		d, ok, err := a.Pick(ctx, reply, offered)
		if err != nil || !ok || d.Outcome != Answer || d.Entry.Title != want {
			t.Errorf("Pick(%q) = %v %q %v, want %q", reply, ok, d.Entry.Title, err, want)
		}
	}
	for _, reply := range []string{"3", "0", "what about returns?", ""} {
		if _, ok, _ := a.Pick(ctx, reply, offered); ok {
			t.Errorf("Pick(%q) picked something", reply)
		}
	}
	if _, ok, err := a.Pick(ctx, "1", []Suggestion{{ID: "doc_gone-1", Question: "x"}}); ok || err != nil {
		t.Errorf("pick of a removed entry: %v %v", ok, err)
	}
}

func TestGrounding(t *testing.T) {
	k, _ := newKB(t, Options{})
	importAll(t, k, Input{Name: "en.csv", Content: []byte(shopFAQ)})
	g, err := k.Ground(context.Background(), "how much is shipping", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Passages) == 0 || len(g.Passages) > DefaultTopK {
		t.Fatalf("%d passages", len(g.Passages))
	}
	ctx := g.SystemPrompt("You are ACME's assistant.")
	for _, want := range []string{"You are ACME's assistant.", "only the knowledge base passages", "transfer_to_human",
		"[" + g.Passages[0].ID + "] " + g.Passages[0].Title, g.Passages[0].Text} {
		if !strings.Contains(ctx, want) {
			t.Errorf("system prompt lacks %q:\n%s", want, ctx)
		}
	}
	if src := g.Sources(); src[0].ID != g.Passages[0].ID || src[0].Title != g.Passages[0].Title {
		t.Errorf("sources %+v", src)
	}
	empty, _ := k.Ground(context.Background(), "zebra xylophone", 2)
	if len(empty.Passages) != 0 || !strings.Contains(empty.SystemContext(), "transfer_to_human") {
		t.Errorf("nothing found: %+v\n%s", empty.Passages, empty.SystemContext())
	}
}

func TestSync(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("faq.csv", shopFAQ)
	write("sub/guide.md", "# Guide\n## Pans\nWash by hand.\n")
	write(".hidden.md", "# no\n")
	write("notes.pdf", "ignored")
	k, _ := newKB(t, Options{})
	other := importAll(t, k, Input{Name: "elsewhere/added.txt", Content: []byte("Added by hand.")})[0]

	rep, err := k.Sync(ctx, []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Imported) != 2 || len(rep.Failed) != 0 {
		t.Fatalf("first sync: %+v", rep)
	}
	rep, _ = k.Sync(ctx, []string{dir})
	if len(rep.Imported) != 0 || len(rep.Unchanged) != 2 {
		t.Errorf("second sync: %+v", rep)
	}
	write("faq.csv", shopFAQ+"Do you gift wrap?,Yes.,\n")
	write("bad.csv", "question\nq\n")
	if err := os.Remove(filepath.Join(dir, "sub/guide.md")); err != nil {
		t.Fatal(err)
	}
	rep, _ = k.Sync(ctx, []string{dir})
	if !slices.Equal(rep.Imported, []string{SourceName(filepath.Join(dir, "faq.csv"))}) ||
		!slices.Equal(rep.Removed, []string{SourceName(filepath.Join(dir, "sub/guide.md"))}) || len(rep.Failed) != 1 {
		t.Errorf("third sync: %+v", rep)
	}
	// A missing source folder removes nothing.
	rep, _ = k.Sync(ctx, []string{filepath.Join(dir, "gone")})
	if len(rep.Removed) != 0 || len(rep.Failed) != 1 {
		t.Errorf("missing source: %+v", rep)
	}
	docs, _ := k.Documents()
	var names []string
	for _, d := range docs {
		names = append(names, d.Name)
	}
	if len(docs) != 2 || !slices.Contains(names, other.Name) {
		t.Errorf("documents %v", names)
	}
}

func TestRebuildAfterAnalyzerChange(t *testing.T) {
	ctx := context.Background()
	k, st := newKB(t, Options{})
	importAll(t, k, Input{Name: "en.csv", Content: []byte(shopFAQ)})
	// Pretend the index was written by another analyzer, with postings
	// that no longer match.
	err := st.KBUpdate(ctx, func(root *bolt.Bucket) error {
		if err := root.DeleteBucket(bucketPostings); err != nil {
			return err
		}
		return root.Bucket(bucketMeta).Put(keyVersion, []byte("old"))
	})
	if err != nil {
		t.Fatal(err)
	}
	k2, err := Open(ctx, st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	hits, _ := k2.FullText(ctx, "password", 1)
	if len(hits) != 1 || hits[0].Title != "How do I reset my password?" {
		t.Errorf("after rebuild: %v", titles(hits))
	}
}

func TestPostingsSegments(t *testing.T) {
	// Enough chunks to span segments, then removal of the first document.
	k, st := newKB(t, Options{})
	var a, b strings.Builder
	a.WriteString("question,answer\n")
	b.WriteString("question,answer\n")
	for i := range 2500 {
		a.WriteString("Common question " + itoa(i) + "?,alpha answer\n")
		b.WriteString("Other common question " + itoa(i) + "?,beta answer\n")
	}
	importAll(t, k, Input{Name: "a.csv", Content: []byte(a.String())}, Input{Name: "b.csv", Content: []byte(b.String())})
	hits, _ := k.FullText(context.Background(), "common beta", 3)
	if len(hits) != 3 || !strings.HasPrefix(hits[0].Title, "Other") {
		t.Errorf("hits %v", titles(hits))
	}
	if _, err := k.Remove(context.Background(), "a.csv"); err != nil {
		t.Fatal(err)
	}
	// Every posting left names a chunk that exists.
	err := st.KBView(func(root *bolt.Bucket) error {
		chunks := root.Bucket(bucketChunks)
		return root.Bucket(bucketPostings).ForEach(func(key, v []byte) error {
			seg := binary.BigEndian.Uint32(key[len(key)-4:])
			return decodeBlock(seg, v, func(p posting) {
				if chunks.Get(u32(p.unit>>slotBits)) == nil {
					t.Errorf("posting of %q names removed chunk %d", key[:len(key)-5], p.unit>>slotBits)
				}
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if hits, _ := k.FullText(context.Background(), "alpha", 5); len(hits) != 0 {
		t.Errorf("removed document still found: %v", titles(hits))
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
