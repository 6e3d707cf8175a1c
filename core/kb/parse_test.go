package kb

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		format  Format
		content string
		want    []Chunk
	}{
		{"faq markdown", FormatFAQ, "# ACME FAQ\n\n## How long is shipping?\n3–5 days.\n\nExpress: 1–2.\n## Returns?\n30 days.\n", []Chunk{
			{Kind: KindFAQ, Title: "How long is shipping?", Text: "3–5 days.\n\nExpress: 1–2.", Line: 3},
			{Kind: KindFAQ, Title: "Returns?", Text: "30 days.", Line: 7},
		}},
		{"faq markdown code block", FormatFAQ, "## Config?\n```\n## not a question\n```\n", []Chunk{
			{Kind: KindFAQ, Title: "Config?", Text: "```\n## not a question\n```", Line: 1},
		}},
		{"csv with alternates", FormatCSV, "\xef\xbb\xbfQuestion,Answer,Alternates\r\n\"Ship, how?\",\"By \"\"post\"\".\",a | b||a\r\n,,\r\nPay?,Card.,\r\n", []Chunk{
			{Kind: KindFAQ, Title: "Ship, how?", Text: `By "post".`, Alternates: []string{"a", "b"}, Line: 2},
			{Kind: KindFAQ, Title: "Pay?", Text: "Card.", Line: 4},
		}},
		{"csv without alternates", FormatCSV, "answer,question\nyes,ok?\n", []Chunk{
			{Kind: KindFAQ, Title: "ok?", Text: "yes", Line: 2},
		}},
		{"markdown sections", FormatMarkdown, "Intro text.\n# Guide\n## Pans\nWash by hand.\n### Cast iron\nOil it.\n## Knives\nHone.\n", []Chunk{
			{Kind: KindSection, Title: "care", Text: "Intro text.", Line: 1},
			{Kind: KindSection, Title: "Guide › Pans", Text: "Wash by hand.", Line: 4},
			{Kind: KindSection, Title: "Guide › Pans › Cast iron", Text: "Oil it.", Line: 6},
			{Kind: KindSection, Title: "Guide › Knives", Text: "Hone.", Line: 8},
		}},
		{"text", FormatText, "First para.\n\n\nSecond para\nwraps.\n", []Chunk{
			{Kind: KindSection, Title: "care", Text: "First para.\n\nSecond para\nwraps.", Line: 1},
		}},
		{"html", FormatHTML, "<html><head><title>Care</title><style>p{}</style></head><body><nav>Home | Shop</nav><p>Intro</p><h2>Pans</h2><p>Wash <b>by hand</b>.</p><script>x()</script><ul><li>one</li><li>two</li></ul></body></html>", []Chunk{
			{Kind: KindSection, Title: "Care", Text: "Intro"},
			{Kind: KindSection, Title: "Pans", Text: "Wash by hand.\n\none\n\ntwo"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse("care.x", tc.format, []byte(tc.content))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		format  Format
		content string
		line    int
		msg     string
	}{
		{"faq text before question", FormatFAQ, "# T\nhello\n## Q\nA\n", 2, "text before the first question"},
		{"faq no answer", FormatFAQ, "## Q1\nA\n## Q2\n\n", 3, `"Q2" has no answer`},
		{"faq duplicate", FormatFAQ, "## Q?\nA\n## q\nB\n", 3, "already asked on line 1"},
		{"faq open fence", FormatFAQ, "## Q\n```\ncode\n", 4, "never closed"},
		{"faq empty", FormatFAQ, "# Only a title\n", 0, "no text to import"},
		{"csv empty", FormatCSV, "", 1, "empty file"},
		{"csv no answer column", FormatCSV, "question,reply\nq,a\n", 1, `unknown column "reply"`},
		{"csv missing column", FormatCSV, "question\nq\n", 1, `no "answer" column`},
		{"csv field count", FormatCSV, "question,answer\nq,a\nq2\n", 3, "different number of fields"},
		{"csv bad quote", FormatCSV, "question,answer\n\"q,a\n", 2, "quote"},
		{"csv empty answer", FormatCSV, "question,answer\nq1,a\nq2, \n", 3, `"q2" has no answer`},
		{"csv empty question", FormatCSV, "question,answer\n,a\n", 2, "empty question"},
		{"invalid utf-8", FormatText, "ok\nbad \xff byte\n", 2, "UTF-8"},
		{"binary", FormatText, "a\x00b", 1, "NUL"},
		{"unknown format", Format("pdf"), "x", 0, "unknown format"},
		{"markdown empty", FormatMarkdown, "# Heading only\n", 0, "no text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("docs/faq.x", tc.format, []byte(tc.content))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *ParseError", err)
			}
			if pe.File != "docs/faq.x" || pe.Line != tc.line || !strings.Contains(pe.Msg, tc.msg) {
				t.Errorf("got %q (line %d), want line %d and %q", err, pe.Line, tc.line, tc.msg)
			}
			if tc.line > 0 && !strings.HasPrefix(err.Error(), "docs/faq.x:") {
				t.Errorf("%q does not start with the file and line", err)
			}
		})
	}
}

func TestDetectFormat(t *testing.T) {
	for name, want := range map[string]Format{
		"faq.md": FormatFAQ, "docs/Shipping-FAQ.markdown": FormatFAQ, "faqs_zh.md": FormatFAQ,
		"guide.md": FormatMarkdown, "faqtory.md": FormatMarkdown, "a.csv": FormatCSV, "A.TXT": FormatText,
		"page.htm": FormatHTML, "page.html": FormatHTML,
	} {
		if got, err := DetectFormat(name); err != nil || got != want {
			t.Errorf("DetectFormat(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := DetectFormat("manual.pdf"); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("pdf: %v", err)
	}
}

func TestSplitLongPassages(t *testing.T) {
	para := strings.Repeat("A sentence of some length. ", 40) // ~1,080 bytes
	chunks, err := Parse("long.txt", FormatText, []byte(para+"\n\n"+para+"\n\n"+strings.Repeat("x", 4000)))
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) < 4 {
		t.Fatalf("%d chunks, want the text cut into several", len(chunks))
	}
	for _, c := range chunks {
		if len(c.Text) > maxPassage {
			t.Errorf("passage of %d bytes, over %d", len(c.Text), maxPassage)
		}
	}
}
