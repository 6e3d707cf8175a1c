package kb

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/core/store"
)

// crashDoc is version v of a document big enough that importing it takes
// a while: every chunk carries the version's marker word.
func crashDoc(v string) Input {
	var b strings.Builder
	b.WriteString("question,answer\n")
	for i := range 1500 {
		fmt.Fprintf(&b, "Question %d about %s?,Answer %d of version %s.\n", i, v, i, v)
	}
	return Input{Name: "big.csv", Content: []byte(b.String())}
}

// TestCrashChild is the process killed by TestAtomicReplaceAcrossCrash: it
// imports the two versions in turn until it is killed.
func TestCrashChild(t *testing.T) {
	path := os.Getenv("KB_CRASH_DB")
	if path == "" {
		t.Skip("run by TestAtomicReplaceAcrossCrash")
	}
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	k, err := Open(context.Background(), st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		v := []string{"alphaversion", "betaversion"}[i%2]
		if _, err := k.Import(context.Background(), crashDoc(v)); err != nil {
			t.Fatal(err)
		}
		fmt.Println("imported", v)
	}
}

// TestAtomicReplaceAcrossCrash kills a process in the middle of replacing
// a document, again and again, and checks that the database then holds
// the old version or the new one, never a mix, with an index that
// matches it.
func TestAtomicReplaceAcrossCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	path := filepath.Join(t.TempDir(), "kb.db")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for round := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
		cmd.Env = append(os.Environ(), "KB_CRASH_DB="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		for lines.Scan() && !strings.HasPrefix(lines.Text(), "imported") {
		}
		// Kill at a random point of a later import.
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		go func() {
			for lines.Scan() {
			}
		}()
		_ = cmd.Wait()
		checkOneVersion(t, round, path)
	}
}

func checkOneVersion(t *testing.T, round int, path string) {
	t.Helper()
	st, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k, err := Open(context.Background(), st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := k.Chunks("big.csv")
	if err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	if len(chunks) != 1500 {
		t.Fatalf("round %d: %d chunks, want 1500", round, len(chunks))
	}
	version := ""
	for _, c := range chunks {
		v := "alphaversion"
		if strings.Contains(c.Text, "betaversion") {
			v = "betaversion"
		}
		if version == "" {
			version = v
		}
		if v != version {
			t.Fatalf("round %d: chunks of both versions: %q and %q", round, version, c.Text)
		}
	}
	other := map[string]string{"alphaversion": "betaversion", "betaversion": "alphaversion"}[version]
	// The index matches: the kept version's marker is in every chunk, the
	// other's in none, and no chunk is left outside the document.
	err = st.KBView(func(root *bolt.Bucket) error {
		r, err := newReader(root)
		if err != nil {
			return err
		}
		if df := r.df(terms(version)[0]); df != 1500 {
			return fmt.Errorf("df(%s) = %d, want 1500", version, df)
		}
		if df := r.df(terms(other)[0]); df != 0 {
			return fmt.Errorf("df(%s) = %d, want 0", other, df)
		}
		if n := root.Bucket(bucketChunks).Stats().KeyN; n != 1500 {
			return fmt.Errorf("%d chunks stored, want 1500", n)
		}
		var st stats
		if err := json.Unmarshal(root.Bucket(bucketMeta).Get(keyStats), &st); err != nil {
			return err
		}
		if st.Chunks != 1500 {
			return fmt.Errorf("stats count %d chunks", st.Chunks)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("round %d (%s kept): %v", round, version, err)
	}
	if hits, _ := k.FullText(context.Background(), other, 3); len(hits) != 0 {
		t.Fatalf("round %d: the %s version is still found", round, other)
	}
	t.Logf("round %d: the %s version, whole", round, version)
}

// failingStore runs the knowledge base's write and then fails it, as a
// crash before the commit would.
type failingStore struct{ *store.Store }

var errInjected = errors.New("injected failure")

func (f failingStore) KBUpdate(ctx context.Context, fn func(root *bolt.Bucket) error) error {
	return f.Store.KBUpdate(ctx, func(root *bolt.Bucket) error {
		if err := fn(root); err != nil {
			return err
		}
		return errInjected
	})
}

func TestFailedReplaceKeepsOldVersion(t *testing.T) {
	k, st := newKB(t, Options{})
	importAll(t, k, crashDoc("alphaversion"))
	broken, err := Open(context.Background(), failingStore{st}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := broken.Import(context.Background(), crashDoc("betaversion")); !errors.Is(err, errInjected) {
		t.Fatalf("import: %v", err)
	}
	hits, _ := k.FullText(context.Background(), "betaversion", 1)
	if len(hits) != 0 {
		t.Errorf("the failed version is visible")
	}
	chunks, _ := k.Chunks("big.csv")
	if len(chunks) != 1500 || !strings.Contains(chunks[0].Text, "alphaversion") {
		t.Errorf("old version not intact: %d chunks", len(chunks))
	}
}
