package kb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

func TestSaveEntry(t *testing.T) {
	ctx := context.Background()
	k, _ := newKB(t, Options{})
	importAll(t, k, Input{Name: "en.csv", Content: []byte(shopFAQ)})
	a := k.Answerer(Thresholds{Answer: 0.72, Margin: 0.01, Suggest: 0.2})
	asked := "whats ur phone number"
	if d, _ := a.Decide(ctx, asked); d.Outcome == Answer {
		t.Fatalf("answered before any entry says so: %+v", d.Entry)
	}

	imp, err := k.SaveEntry(ctx, ConsoleDocument, Entry{
		Question: " What is your phone number? ", Answer: "Call us on 555-0100, 9:00–17:00 on weekdays.",
		Alternates: []string{asked, "What is your phone number"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if imp.Status != Created || imp.Origin != OriginConsole || imp.Chunks != 1 {
		t.Errorf("first save: %+v", imp)
	}
	d, err := a.Decide(ctx, asked)
	if err != nil {
		t.Fatal(err)
	}
	if d.Outcome != Answer || d.Entry.Text != "Call us on 555-0100, 9:00–17:00 on weekdays." {
		t.Errorf("the visitor's own words: %v %v", d.Outcome, titles(d.Candidates))
	}

	// The same question, asked another way, gets the new answer and keeps
	// its phrasings; another question is added after it.
	if _, err := k.SaveEntry(ctx, ConsoleDocument, Entry{
		Question: "what is your phone number", Answer: "Call 555-0199.", Alternates: []string{"phone | fax number?"},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.SaveEntry(ctx, ConsoleDocument, Entry{Question: "Do you sell spare lids?", Answer: "Yes, in Accessories."}); err != nil {
		t.Fatal(err)
	}
	hits, err := k.Chunks(ConsoleDocument)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 2 || hits[0].Title != "What is your phone number?" || hits[0].Text != "Call 555-0199." ||
		!slices.Equal(hits[0].Alternates, []string{asked, "phone / fax number?"}) || hits[1].Title != "Do you sell spare lids?" {
		t.Errorf("entries %+v", hits)
	}

	// Refused: nothing changes.
	for _, bad := range []Entry{{Question: " ", Answer: "x"}, {Question: "Lids?", Answer: ""}} {
		if _, err := k.SaveEntry(ctx, ConsoleDocument, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("SaveEntry(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
	importAll(t, k, Input{Name: "guide.md", Content: []byte("# G\n## Pans\nWash by hand.\n")})
	if _, err := k.SaveEntry(ctx, "guide.md", Entry{Question: "q", Answer: "a"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("an entry into a document of passages: %v", err)
	}
	if hits, _ := k.Chunks(ConsoleDocument); len(hits) != 2 {
		t.Errorf("%d entries after refusals", len(hits))
	}

	// Synchronising the sources, even "." which owns every relative
	// name, leaves the team's entries alone.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "faq.csv"), []byte(shopFAQ), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	rep, err := k.Sync(ctx, []string{"."})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(rep.Removed, ConsoleDocument) {
		t.Errorf("sync removed the console's entries: %+v", rep)
	}
	if hits, _ := k.Chunks(ConsoleDocument); len(hits) != 2 {
		t.Errorf("%d entries after a sync", len(hits))
	}
}

func TestSaveEntryConcurrent(t *testing.T) {
	ctx := context.Background()
	k, _ := newKB(t, Options{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if _, err := k.SaveEntry(ctx, ConsoleDocument, Entry{Question: fmt.Sprintf("Question %d?", i), Answer: "Answer."}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if hits, _ := k.Chunks(ConsoleDocument); len(hits) != 8 {
		t.Errorf("%d of 8 entries kept", len(hits))
	}
}
