package kb

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// parseHTML extracts an HTML page's text with the HTML5 parsing algorithm
// (golang.org/x/net/html, the parser browsers specify: it copes with the
// unclosed and misnested tags real pages have) and splits it into
// sections at its headings. Scripts, styles, navigation and forms are left
// out; the page's <title> names text before the first heading.
func parseHTML(text, docTitle string) ([]Chunk, error) {
	doc, err := html.Parse(strings.NewReader(text))
	if err != nil {
		return nil, err
	}
	w := &htmlWalker{title: docTitle}
	if t := findTitle(doc); t != "" {
		w.title = t
	}
	w.walk(doc)
	w.flush()
	return w.chunks, nil
}

type htmlWalker struct {
	title  string
	path   []string // headings by level-1
	body   strings.Builder
	chunks []Chunk
}

// skipped elements hold no readable content.
var skipped = map[atom.Atom]bool{
	atom.Head: true, atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Svg: true, atom.Nav: true, atom.Form: true, atom.Iframe: true, atom.Button: true, atom.Select: true,
}

// blocks end a line of text.
var blocks = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Li: true, atom.Br: true, atom.Tr: true, atom.Section: true,
	atom.Article: true, atom.Blockquote: true, atom.Pre: true, atom.Table: true, atom.Ul: true, atom.Ol: true,
	atom.Dl: true, atom.Dt: true, atom.Dd: true, atom.Header: true, atom.Footer: true, atom.Main: true,
	atom.Aside: true, atom.Hr: true, atom.Figcaption: true, atom.Address: true,
}

var headingLevel = map[atom.Atom]int{atom.H1: 1, atom.H2: 2, atom.H3: 3, atom.H4: 4, atom.H5: 5, atom.H6: 6}

func (w *htmlWalker) walk(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		w.body.WriteString(n.Data)
		return
	case html.ElementNode:
		if skipped[n.DataAtom] {
			return
		}
		if level := headingLevel[n.DataAtom]; level > 0 {
			heading := collapseSpace(textOf(n))
			if heading == "" {
				return
			}
			w.flush()
			for len(w.path) < level {
				w.path = append(w.path, "")
			}
			w.path = append(w.path[:level-1], heading)
			return
		}
		if blocks[n.DataAtom] {
			w.body.WriteString("\n\n")
		}
		if n.DataAtom == atom.Td || n.DataAtom == atom.Th {
			w.body.WriteString(" ")
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.walk(c)
	}
	if n.Type == html.ElementNode && blocks[n.DataAtom] {
		w.body.WriteString("\n\n")
	}
}

// flush turns the text gathered since the last heading into passages.
func (w *htmlWalker) flush() {
	var paras []string
	for _, p := range strings.Split(w.body.String(), "\n\n") {
		if p = collapseSpace(p); p != "" {
			paras = append(paras, p)
		}
	}
	w.body.Reset()
	title := w.title
	if len(w.path) > 0 {
		title = strings.Join(compact(w.path), " › ")
	}
	w.chunks = append(w.chunks, splitPassages(title, 0, strings.Join(paras, "\n\n"))...)
}

func findTitle(n *html.Node) string {
	if n.Type == html.ElementNode && n.DataAtom == atom.Title {
		return collapseSpace(textOf(n))
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if t := findTitle(c); t != "" {
			return t
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		if n.Type == html.ElementNode && skipped[n.DataAtom] {
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	return b.String()
}

func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }
