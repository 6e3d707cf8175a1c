package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// readTableTOML returns the keys of one table ([channels.siq.options]) of a
// TOML document. It is a minimal reader for the setup command, which runs
// without the daemon: it understands strings (basic, literal, multi-line),
// numbers, booleans, arrays and inline tables, and skips everything outside
// the wanted table. found is false when the table is absent.
func readTableTOML(doc string, table []string) (values map[string]any, found bool, err error) {
	p := &tomlReader{s: doc, line: 1}
	values = map[string]any{}
	var current []string
	for {
		p.skipSpaceAndComments(true)
		if p.eof() {
			return values, found, nil
		}
		if p.peek() == '[' {
			array := strings.HasPrefix(p.s[p.i:], "[[")
			if array {
				p.i += 2
			} else {
				p.i++
			}
			keys, err := p.keyPath()
			if err != nil {
				return nil, false, err
			}
			closing := "]"
			if array {
				closing = "]]"
			}
			p.skipSpace()
			if !strings.HasPrefix(p.s[p.i:], closing) {
				return nil, false, p.errorf("table header not closed")
			}
			p.i += len(closing)
			current = keys
			if array {
				current = append([]string{"[["}, keys...) // never the wanted table
			}
			if equalPath(current, table) {
				found = true
			}
			continue
		}
		keys, err := p.keyPath()
		if err != nil {
			return nil, false, err
		}
		p.skipSpace()
		if p.eof() || p.peek() != '=' {
			return nil, false, p.errorf("want = after key %q", strings.Join(keys, "."))
		}
		p.i++
		p.skipSpace()
		v, err := p.value()
		if err != nil {
			return nil, false, err
		}
		if equalPath(current, table) {
			values[strings.Join(keys, ".")] = v
		}
	}
}

func equalPath(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

type tomlReader struct {
	s    string
	i    int
	line int
}

func (p *tomlReader) eof() bool  { return p.i >= len(p.s) }
func (p *tomlReader) peek() byte { return p.s[p.i] }

func (p *tomlReader) errorf(format string, args ...any) error {
	return fmt.Errorf("toml line %d: %s", p.line, fmt.Sprintf(format, args...))
}

func (p *tomlReader) skipSpace() {
	for !p.eof() && (p.peek() == ' ' || p.peek() == '\t') {
		p.i++
	}
}

// skipSpaceAndComments skips blanks, comments and (when newlines) line ends.
func (p *tomlReader) skipSpaceAndComments(newlines bool) {
	for !p.eof() {
		switch c := p.peek(); {
		case c == ' ' || c == '\t' || c == '\r':
			p.i++
		case c == '\n' && newlines:
			p.i++
			p.line++
		case c == '#':
			for !p.eof() && p.peek() != '\n' {
				p.i++
			}
		default:
			return
		}
	}
}

// keyPath reads a (dotted) key of bare or quoted parts.
func (p *tomlReader) keyPath() ([]string, error) {
	var keys []string
	for {
		p.skipSpace()
		if p.eof() {
			return nil, p.errorf("key expected")
		}
		var k string
		switch p.peek() {
		case '"', '\'':
			v, err := p.str()
			if err != nil {
				return nil, err
			}
			k = v
		default:
			start := p.i
			for !p.eof() && (isBare(p.peek())) {
				p.i++
			}
			if start == p.i {
				return nil, p.errorf("key expected")
			}
			k = p.s[start:p.i]
		}
		keys = append(keys, k)
		p.skipSpace()
		if p.eof() || p.peek() != '.' {
			return keys, nil
		}
		p.i++
	}
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func (p *tomlReader) value() (any, error) {
	if p.eof() {
		return nil, p.errorf("value expected")
	}
	switch c := p.peek(); c {
	case '"', '\'':
		return p.str()
	case '[':
		p.i++
		var list []any
		for {
			p.skipSpaceAndComments(true)
			if p.eof() {
				return nil, p.errorf("array not closed")
			}
			if p.peek() == ']' {
				p.i++
				return list, nil
			}
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			list = append(list, v)
			p.skipSpaceAndComments(true)
			if !p.eof() && p.peek() == ',' {
				p.i++
			}
		}
	case '{':
		p.i++
		m := map[string]any{}
		for {
			p.skipSpace()
			if p.eof() {
				return nil, p.errorf("inline table not closed")
			}
			if p.peek() == '}' {
				p.i++
				return m, nil
			}
			keys, err := p.keyPath()
			if err != nil {
				return nil, err
			}
			p.skipSpace()
			if p.eof() || p.peek() != '=' {
				return nil, p.errorf("want = in inline table")
			}
			p.i++
			p.skipSpace()
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			m[strings.Join(keys, ".")] = v
			p.skipSpace()
			if !p.eof() && p.peek() == ',' {
				p.i++
			}
		}
	}
	start := p.i
	for !p.eof() && !strings.ContainsRune(",]}#\n\r", rune(p.peek())) {
		p.i++
	}
	raw := strings.TrimSpace(p.s[start:p.i])
	switch {
	case raw == "true" || raw == "false":
		return raw == "true", nil
	case raw == "":
		return nil, p.errorf("value expected")
	}
	clean := strings.ReplaceAll(raw, "_", "")
	if n, err := strconv.ParseInt(clean, 0, 64); err == nil {
		return n, nil
	}
	if f, err := strconv.ParseFloat(clean, 64); err == nil {
		return f, nil
	}
	return raw, nil // dates and times stay text
}

// str reads a basic, literal or multi-line string.
func (p *tomlReader) str() (string, error) {
	q := p.peek()
	multi := strings.HasPrefix(p.s[p.i:], strings.Repeat(string(q), 3))
	if multi {
		p.i += 3
		if strings.HasPrefix(p.s[p.i:], "\r\n") {
			p.i += 2
			p.line++
		} else if !p.eof() && p.peek() == '\n' {
			p.i++
			p.line++
		}
		end := strings.Index(p.s[p.i:], strings.Repeat(string(q), 3))
		if end < 0 {
			return "", p.errorf("multi-line string not closed")
		}
		raw := p.s[p.i : p.i+end]
		p.line += strings.Count(raw, "\n")
		p.i += end + 3
		if q == '\'' {
			return raw, nil
		}
		return unescape(raw, true)
	}
	p.i++
	start := p.i
	for {
		if p.eof() || p.peek() == '\n' {
			return "", p.errorf("string not closed")
		}
		c := p.peek()
		if c == '\\' && q == '"' {
			p.i += 2
			continue
		}
		p.i++
		if c == q {
			break
		}
	}
	raw := p.s[start : p.i-1]
	if q == '\'' {
		return raw, nil
	}
	return unescape(raw, false)
}

// unescape resolves TOML's basic-string escapes.
func unescape(raw string, multi bool) (string, error) {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(raw) {
			return "", errors.New("toml: dangling backslash")
		}
		switch e := raw[i]; e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'e':
			b.WriteByte(0x1b)
		case '"', '\\':
			b.WriteByte(e)
		case 'u', 'U':
			n := 4
			if e == 'U' {
				n = 8
			}
			if i+1+n > len(raw) {
				return "", errors.New("toml: short unicode escape")
			}
			r, err := strconv.ParseUint(raw[i+1:i+1+n], 16, 32)
			if err != nil {
				return "", fmt.Errorf("toml: bad unicode escape: %w", err)
			}
			b.WriteRune(rune(r))
			i += n
		default:
			if multi && (e == '\n' || e == ' ' || e == '\t' || e == '\r') {
				// line-ending backslash: trim the whitespace that follows
				for i+1 < len(raw) && strings.ContainsRune(" \t\r\n", rune(raw[i+1])) {
					i++
				}
				continue
			}
			return "", fmt.Errorf("toml: unknown escape \\%c", e)
		}
	}
	return b.String(), nil
}
