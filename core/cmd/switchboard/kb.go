package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/core/httpapi"
	"github.com/switchboard-chat/switchboard/core/kb"
	"github.com/switchboard-chat/switchboard/core/store"
)

const kbUsage = `usage: switchboard kb <command> [flags]

  kb add [--format F] PATH…   import files, or every known file in folders
  kb list                     list the documents
  kb remove ID|NAME           remove a document
  kb search [-k N] "text"     search, printing each hit with its score
  kb gaps [-n N]              questions the knowledge base did not answer

Each takes --config F (default config.toml), and works on the database
directly when the daemon is stopped, through its API when it runs.
Formats: faq (Markdown, "## question"), csv (question,answer[,alternates]),
markdown, text, html; by default told from the file name.`

func kbCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, kbUsage)
		return 2
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("kb "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	af := addAdminFlags(fs)
	format := fs.String("format", "", "format of the files (add): faq, csv, markdown, text or html")
	k := fs.Int("k", 5, "number of hits (search)")
	n := fs.Int("n", 50, "number of gaps (gaps)")
	if err := fs.Parse(reorder(args)); err != nil {
		return 2
	}
	var err error
	switch sub {
	case "add":
		if fs.NArg() == 0 {
			fmt.Fprintln(stderr, "usage: switchboard kb add [--config F] [--format F] PATH…")
			return 2
		}
		err = kbAdd(af, fs.Args(), kb.Format(*format), stdout)
	case "list":
		err = kbList(af, stdout)
	case "remove":
		if fs.NArg() != 1 {
			fmt.Fprintln(stderr, "usage: switchboard kb remove [--config F] ID|NAME")
			return 2
		}
		err = kbRemove(af, fs.Arg(0), stdout)
	case "search":
		if fs.NArg() == 0 {
			fmt.Fprintln(stderr, `usage: switchboard kb search [--config F] [-k N] "text"`)
			return 2
		}
		err = kbSearch(af, strings.Join(fs.Args(), " "), *k, stdout)
	case "gaps":
		err = kbGaps(af, *n, stdout)
	default:
		fmt.Fprintf(stderr, "switchboard kb: unknown command %q\n\n%s\n", sub, kbUsage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	return 0
}

// reorder moves flags before the other arguments, so that
// `kb search "text" -k 3` and `kb add a.md --config F` work like the
// flags-first forms.
func reorder(args []string) []string {
	var flags, rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			rest = append(rest, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			flags = append(flags, a)
			if !strings.Contains(a, "=") && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			rest = append(rest, a)
		}
	}
	return append(flags, rest...)
}

// kbAdd reads the files, checks each locally (so a bad file is named with
// its line before anything is sent), then imports them one by one.
func kbAdd(af adminFlags, paths []string, format kb.Format, stdout io.Writer) error {
	if format != "" {
		f, err := kb.ParseFormat(string(format))
		if err != nil {
			return err
		}
		format = f
	}
	ins, err := kb.ReadSources(paths)
	if err != nil {
		return err
	}
	if len(ins) == 0 {
		return errors.New("no knowledge-base files (.md, .markdown, .csv, .txt, .html, .htm) found")
	}
	for i := range ins {
		if format != "" {
			ins[i].Format = format
		}
		if _, err := kb.Parse(ins[i].Name, ins[i].Format, ins[i].Content); err != nil {
			return err
		}
	}
	a, err := openAdmin(af)
	if err != nil {
		return err
	}
	defer a.close()
	for _, in := range ins {
		var out kb.Imported
		err := a.do("POST", "/v1/kb/documents", httpapi.KBDocumentRequest{
			Name: in.Name, Format: string(in.Format), Content: string(in.Content),
		}, &out)
		if err != nil {
			return fmt.Errorf("%s: %w", in.Name, err)
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\t%d %s\n", out.ID, out.Status, out.Name, out.Chunks, plural(out.Chunks, "chunk", "chunks"))
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func kbList(af adminFlags, stdout io.Writer) error {
	a, err := openAdmin(af)
	if err != nil {
		return err
	}
	defer a.close()
	var out struct {
		Documents []kb.Document `json:"documents"`
	}
	if err := a.do("GET", "/v1/kb/documents", nil, &out); err != nil {
		return err
	}
	for _, d := range out.Documents {
		fmt.Fprintf(stdout, "%s\t%s\t%s\t%d %s\timported %s\n", d.ID, d.Name, d.Format, d.Chunks,
			plural(d.Chunks, "chunk", "chunks"), d.ImportedAt.Format(time.RFC3339))
	}
	if len(out.Documents) == 0 {
		fmt.Fprintln(stdout, "the knowledge base is empty")
	}
	return nil
}

func kbRemove(af adminFlags, id string, stdout io.Writer) error {
	a, err := openAdmin(af)
	if err != nil {
		return err
	}
	defer a.close()
	var out kb.Document
	if err := a.do("DELETE", "/v1/kb/documents/"+url.PathEscape(id), nil, &out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "removed %s (%s)\n", out.ID, out.Name)
	return nil
}

func kbSearch(af adminFlags, text string, k int, stdout io.Writer) error {
	a, err := openAdmin(af)
	if err != nil {
		return err
	}
	defer a.close()
	var out struct {
		Results []struct {
			ID           string  `json:"id"`
			DocumentName string  `json:"document_name"`
			Title        string  `json:"title"`
			Text         string  `json:"text"`
			Score        float64 `json:"score"`
		} `json:"results"`
	}
	q := url.Values{"q": {text}, "k": {strconv.Itoa(k)}}
	if err := a.do("GET", "/v1/kb/search?"+q.Encode(), nil, &out); err != nil {
		return err
	}
	for _, r := range out.Results {
		fmt.Fprintf(stdout, "%.4f\t%s\t%s\t%s\n\t%s\n", r.Score, r.ID, r.DocumentName, r.Title, oneLine(r.Text, 160))
	}
	if len(out.Results) == 0 {
		fmt.Fprintln(stdout, "no match")
	}
	return nil
}

func kbGaps(af adminFlags, n int, stdout io.Writer) error {
	a, err := openAdmin(af)
	if err != nil {
		return err
	}
	defer a.close()
	var out struct {
		Gaps []store.KBGap `json:"gaps"`
	}
	if err := a.do("GET", "/v1/kb/gaps?limit="+strconv.Itoa(max(n, 1)), nil, &out); err != nil {
		return err
	}
	for _, g := range out.Gaps {
		fmt.Fprintf(stdout, "%d\t%s\tlast %s\t%s\n", g.Count, g.Question, g.LastSeen.Format(time.RFC3339), reasons(g.Reasons))
	}
	if len(out.Gaps) == 0 {
		fmt.Fprintln(stdout, "no knowledge gaps recorded")
	}
	return nil
}

func reasons(m map[string]int) string {
	var parts []string
	for _, r := range []string{store.GapLowScore, store.GapHandoff} {
		if m[r] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", r, m[r]))
		}
	}
	return strings.Join(parts, " ")
}

// oneLine shortens text to one line of at most n runes.
func oneLine(text string, n int) string {
	s := strings.Join(strings.Fields(text), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
