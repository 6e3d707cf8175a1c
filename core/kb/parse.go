package kb

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Format is the kind of a source file.
type Format string

// The formats a document can be imported from.
const (
	// FormatFAQ is a Markdown FAQ: every "## " heading is a question and
	// the text under it, up to the next "## ", its answer. A "# Title"
	// line is ignored.
	FormatFAQ Format = "faq"
	// FormatCSV is an FAQ as CSV (RFC 4180) with the header
	// question,answer and an optional alternates column of other
	// phrasings separated by "|".
	FormatCSV Format = "csv"
	// FormatMarkdown is a Markdown document, split into sections at its
	// headings.
	FormatMarkdown Format = "markdown"
	// FormatText is plain text, split into passages at blank lines.
	FormatText Format = "text"
	// FormatHTML is an HTML page; its text is split into sections at its
	// h1–h6 headings.
	FormatHTML Format = "html"
)

// Formats lists every format, in the order the documentation gives them.
var Formats = []Format{FormatFAQ, FormatCSV, FormatMarkdown, FormatText, FormatHTML}

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Formats, f) {
		return f, nil
	}
	return "", fmt.Errorf("%w %q; use one of %s", ErrUnknownFormat, s, formatList())
}

func formatList() string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// ErrUnknownFormat is returned for a format name or file type the
// knowledge base cannot read.
var ErrUnknownFormat = errors.New("unknown format")

// DetectFormat tells a file's format from its name: .csv is an FAQ in CSV;
// .md and .markdown are an FAQ when a word of the file name is "faq" or
// "faqs" (faq.md, shipping-faq.md, FAQ_zh.md) and a document otherwise;
// .txt is plain text; .html and .htm are HTML.
func DetectFormat(name string) (Format, error) {
	base := strings.ToLower(path.Base(strings.ReplaceAll(name, `\`, "/")))
	ext := path.Ext(base)
	switch ext {
	case ".csv":
		return FormatCSV, nil
	case ".md", ".markdown":
		words := strings.FieldsFunc(strings.TrimSuffix(base, ext), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r)
		})
		if slices.Contains(words, "faq") || slices.Contains(words, "faqs") {
			return FormatFAQ, nil
		}
		return FormatMarkdown, nil
	case ".txt", ".text":
		return FormatText, nil
	case ".html", ".htm":
		return FormatHTML, nil
	}
	return "", fmt.Errorf("%s: %w: file type %q is not supported; use .md, .markdown, .csv, .txt, .html or .htm", name, ErrUnknownFormat, ext)
}

// Chunk kinds.
const (
	// KindFAQ is a question with its answer.
	KindFAQ = "faq"
	// KindSection is a passage of a document under its heading.
	KindSection = "section"
)

// Chunk is one searchable unit of a document: an FAQ entry or a passage.
type Chunk struct {
	// Kind is KindFAQ or KindSection.
	Kind string `json:"kind"`
	// Title is the question of an FAQ entry, or the heading path of a
	// passage ("Returns › Refunds").
	Title string `json:"title"`
	// Alternates are other phrasings of an FAQ entry's question.
	Alternates []string `json:"alternates,omitempty"`
	// Text is the answer of an FAQ entry, verbatim, or the passage.
	Text string `json:"text"`
	// Line is where the chunk starts in its source file.
	Line int `json:"line,omitempty"`
}

// ParseError is a source file that cannot be imported; nothing of it is.
type ParseError struct {
	// File is the document's name.
	File string
	// Line is the 1-based line of the problem; 0 when it concerns the
	// whole file.
	Line int
	// Msg says what is wrong.
	Msg string
}

// Error formats the problem as "file:line: message".
func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// maxPassage is the size, in bytes, above which a section is split into
// several passages at paragraph breaks: a passage should hold one topic,
// and the model's context takes a few of them.
const maxPassage = 1500

// Parse reads a document's content in the given format into chunks. It
// refuses, with a *ParseError naming the file and line, content that is
// not valid UTF-8, has no text, or breaks the format's rules.
func Parse(name string, format Format, content []byte) ([]Chunk, error) {
	content = bytes.TrimPrefix(content, []byte("\xef\xbb\xbf")) // UTF-8 BOM
	if !utf8.Valid(content) {
		return nil, &ParseError{File: name, Line: invalidUTF8Line(content), Msg: "not valid UTF-8 text (save the file as UTF-8)"}
	}
	if i := bytes.IndexByte(content, 0); i >= 0 {
		return nil, &ParseError{File: name, Line: 1 + bytes.Count(content[:i], []byte("\n")), Msg: "contains a NUL byte: not a text file"}
	}
	text := strings.ReplaceAll(string(content), "\r\n", "\n")
	var chunks []Chunk
	var err error
	switch format {
	case FormatFAQ:
		chunks, err = parseFAQMarkdown(name, text)
	case FormatCSV:
		chunks, err = parseFAQCSV(name, text)
	case FormatMarkdown:
		chunks = parseMarkdown(text, titleFromName(name))
	case FormatText:
		chunks = splitPassages(titleFromName(name), 1, text)
	case FormatHTML:
		chunks, err = parseHTML(text, titleFromName(name))
	default:
		_, err = ParseFormat(string(format))
	}
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			pe.File = name
			return nil, pe
		}
		return nil, &ParseError{File: name, Msg: err.Error()}
	}
	if len(chunks) == 0 {
		return nil, &ParseError{File: name, Msg: "no text to import"}
	}
	return chunks, nil
}

func invalidUTF8Line(b []byte) int {
	line := 1
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		b = b[size:]
	}
	return line
}

// titleFromName is a document's title when it has none of its own: the
// file name without folder and extension.
func titleFromName(name string) string {
	base := path.Base(strings.ReplaceAll(name, `\`, "/"))
	if t := strings.TrimSuffix(base, path.Ext(base)); t != "" {
		return t
	}
	return base
}

// parseFAQMarkdown reads "## question" headings with their answers.
func parseFAQMarkdown(name, text string) ([]Chunk, error) {
	var chunks []Chunk
	var answer []string
	seen := map[string]int{}
	fence := false
	sawTitle := false
	finish := func() error {
		if len(chunks) == 0 {
			return nil
		}
		c := &chunks[len(chunks)-1]
		c.Text = strings.TrimSpace(strings.Join(answer, "\n"))
		if c.Text == "" {
			return &ParseError{Line: c.Line, Msg: fmt.Sprintf("question %q has no answer", c.Title)}
		}
		return nil
	}
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = !fence
		}
		if !fence && (strings.HasPrefix(line, "## ") || line == "##") {
			if err := finish(); err != nil {
				return nil, err
			}
			q := strings.TrimSpace(strings.TrimRight(strings.TrimPrefix(line, "##"), "#"))
			if q == "" {
				return nil, &ParseError{Line: n, Msg: "empty question heading"}
			}
			if first, dup := seen[normalizeQuestion(q)]; dup {
				return nil, &ParseError{Line: n, Msg: fmt.Sprintf("question %q is already asked on line %d", q, first)}
			}
			seen[normalizeQuestion(q)] = n
			chunks = append(chunks, Chunk{Kind: KindFAQ, Title: q, Line: n})
			answer = answer[:0]
			continue
		}
		if len(chunks) == 0 {
			switch {
			case trimmed == "":
			case !sawTitle && strings.HasPrefix(line, "# "):
				sawTitle = true
			default:
				return nil, &ParseError{Line: n, Msg: "text before the first question: an FAQ in Markdown starts each question with \"## \" (name the file without \"faq\" to import it as a document)"}
			}
			continue
		}
		answer = append(answer, line)
	}
	if fence {
		return nil, &ParseError{Line: strings.Count(text, "\n") + 1, Msg: "a ``` code block is never closed"}
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return chunks, nil
}

// normalizeQuestion folds what does not change a question, to find
// duplicates.
func normalizeQuestion(q string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(q), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r)
	}), " ")
}

// parseFAQCSV reads question,answer[,alternates] rows.
func parseFAQCSV(name, text string) ([]Chunk, error) {
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = 0 // every row as long as the header
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, &ParseError{Line: 1, Msg: "empty file: want a header row question,answer[,alternates]"}
	}
	if err != nil {
		return nil, csvError(err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		switch h {
		case "question", "answer", "alternates":
		default:
			return nil, &ParseError{Line: 1, Msg: fmt.Sprintf("unknown column %q in the header; the columns are question, answer and optionally alternates", header[i])}
		}
		if _, dup := col[h]; dup {
			return nil, &ParseError{Line: 1, Msg: fmt.Sprintf("column %q appears twice in the header", h)}
		}
		col[h] = i
	}
	for _, need := range []string{"question", "answer"} {
		if _, ok := col[need]; !ok {
			return nil, &ParseError{Line: 1, Msg: fmt.Sprintf("the header has no %q column; want question,answer[,alternates]", need)}
		}
	}
	var chunks []Chunk
	seen := map[string]int{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := r.FieldPos(0)
		q := strings.TrimSpace(rec[col["question"]])
		a := strings.TrimSpace(rec[col["answer"]])
		switch {
		case q == "" && a == "":
			continue // a blank row of a spreadsheet export
		case q == "":
			return nil, &ParseError{Line: line, Msg: "empty question"}
		case a == "":
			return nil, &ParseError{Line: line, Msg: fmt.Sprintf("question %q has no answer", q)}
		}
		if first, dup := seen[normalizeQuestion(q)]; dup {
			return nil, &ParseError{Line: line, Msg: fmt.Sprintf("question %q is already asked on line %d", q, first)}
		}
		seen[normalizeQuestion(q)] = line
		c := Chunk{Kind: KindFAQ, Title: q, Text: a, Line: line}
		if i, ok := col["alternates"]; ok {
			for _, alt := range strings.Split(rec[i], "|") {
				if alt = strings.TrimSpace(alt); alt != "" && !slices.Contains(c.Alternates, alt) {
					c.Alternates = append(c.Alternates, alt)
				}
			}
		}
		chunks = append(chunks, c)
	}
	return chunks, nil
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		msg := pe.Err.Error()
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			msg = "this row has a different number of fields than the header (quote fields that contain commas)"
		}
		return &ParseError{Line: pe.Line, Msg: msg}
	}
	return err
}

// parseMarkdown splits a Markdown document into sections at its headings;
// each section's title is the path of headings above it.
func parseMarkdown(text, docTitle string) []Chunk {
	var chunks []Chunk
	var path []string // heading text by level-1
	var body []string
	bodyLine := 1
	fence := false
	flush := func() {
		title := docTitle
		if len(path) > 0 {
			title = strings.Join(compact(path), " › ")
		}
		chunks = append(chunks, splitPassages(title, bodyLine, strings.Join(body, "\n"))...)
		body = body[:0]
	}
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = !fence
		}
		if level, heading := markdownHeading(line); !fence && level > 0 {
			flush()
			for len(path) < level {
				path = append(path, "")
			}
			path = append(path[:level-1], heading)
			bodyLine = i + 2
			continue
		}
		body = append(body, line)
	}
	flush()
	return chunks
}

// markdownHeading returns the level and text of an ATX heading line
// ("### Text"), or 0.
func markdownHeading(line string) (int, string) {
	level := 0
	for level < len(line) && line[level] == '#' {
		level++
	}
	if level == 0 || level > 6 || (level < len(line) && line[level] != ' ' && line[level] != '\t') {
		return 0, ""
	}
	text := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(line[level:]), "#"))
	if text == "" {
		return 0, ""
	}
	return level, text
}

func compact(parts []string) []string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// splitPassages cuts a section's text, which starts on line firstLine, into
// passages of at most maxPassage bytes at paragraph breaks (a paragraph
// longer than that is cut at sentence ends, then anywhere). Empty text
// gives no passage.
func splitPassages(title string, firstLine int, text string) []Chunk {
	var out []Chunk
	var cur []string
	curLen, curLine := 0, 0
	emit := func() {
		if t := strings.TrimSpace(strings.Join(cur, "\n\n")); t != "" {
			out = append(out, Chunk{Kind: KindSection, Title: title, Text: t, Line: curLine})
		}
		cur, curLen, curLine = cur[:0], 0, 0
	}
	line := firstLine
	for _, para := range strings.Split(text, "\n\n") {
		paraLine := line
		line += strings.Count(para, "\n") + 2
		para = strings.TrimSpace(para)
		if para == "" {
			continue
		}
		for _, piece := range cutLong(para) {
			if curLen > 0 && curLen+len(piece) > maxPassage {
				emit()
			}
			if curLine == 0 && firstLine > 0 {
				curLine = paraLine
			}
			cur = append(cur, piece)
			curLen += len(piece) + 2
		}
	}
	emit()
	return out
}

// cutLong splits a paragraph longer than maxPassage at sentence ends.
func cutLong(para string) []string {
	if len(para) <= maxPassage {
		return []string{para}
	}
	var out []string
	for len(para) > maxPassage {
		cut := -1
		for i, r := range para[:maxPassage] {
			if r == '.' || r == '!' || r == '?' || r == '。' || r == '！' || r == '？' || r == '\n' {
				cut = i + utf8.RuneLen(r)
			}
		}
		if cut <= 0 {
			cut = maxPassage
			for !utf8.RuneStart(para[cut]) {
				cut--
			}
		}
		out = append(out, strings.TrimSpace(para[:cut]))
		para = strings.TrimSpace(para[cut:])
	}
	if para != "" {
		out = append(out, para)
	}
	return out
}
