package webchat

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"path"
	"strings"

	"github.com/switchboard-chat/switchboard/core/httpapi"
)

// The widget, its style sheet and the chat page: plain JavaScript and CSS,
// no build step.
//
//go:embed assets
var assetFS embed.FS

// asset is one file served under Prefix, kept plain and gzipped.
type asset struct {
	body, gz    []byte
	contentType string
	etag        string
	cache       string
}

// loadAssets reads the embedded files; the chat page gets the configured
// title.
func loadAssets(cfg Config) (map[string]*asset, error) {
	out := map[string]*asset{}
	for name, kind := range map[string]string{
		"index.html": "text/html; charset=utf-8",
		"widget.js":  "text/javascript; charset=utf-8",
		"widget.css": "text/css; charset=utf-8",
	} {
		body, err := assetFS.ReadFile(path.Join("assets", name))
		if err != nil {
			return nil, fmt.Errorf("web chat asset %s: %w", name, err)
		}
		// The page can go stale behind a cache only for minutes: the
		// widget's files are named, not versioned, in sites' embed code.
		cache := "public, max-age=300"
		if name == "index.html" {
			tmpl, err := template.New(name).Parse(string(body))
			if err != nil {
				return nil, fmt.Errorf("web chat page: %w", err)
			}
			var b bytes.Buffer
			if err := tmpl.Execute(&b, struct{ Title string }{cfg.Title}); err != nil {
				return nil, fmt.Errorf("web chat page: %w", err)
			}
			body, cache = b.Bytes(), "no-cache"
		}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(body)
		if err := zw.Close(); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		out[name] = &asset{body: body, gz: gz.Bytes(), contentType: kind, etag: `W/"` + hex.EncodeToString(sum[:8]) + `"`, cache: cache}
	}
	return out, nil
}

// serveAsset serves an embedded file, gzipped to clients that take it,
// with an ETag for revalidation.
func (s *Server) serveAsset(name string) http.HandlerFunc {
	a := s.assets[name]
	return func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		h := w.Header()
		if name == "index.html" {
			// The page runs the widget's script and style from this
			// origin only, and may be framed by the allowed sites.
			h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "+
				"img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors "+s.frameAncestors())
		}
		h.Set("Content-Type", a.contentType)
		h.Set("Cache-Control", a.cache)
		h.Set("ETag", a.etag)
		h.Add("Vary", "Accept-Encoding")
		// Weak comparison: the tag's quoted part, with or without W/.
		if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, strings.TrimPrefix(a.etag, "W/")) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		body := a.body
		if acceptsGzip(r) {
			h.Set("Content-Encoding", "gzip")
			body = a.gz
		}
		h.Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write(body)
		}
	}
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// configView is what the widget needs to know before it starts.
type configView struct {
	Title           string `json:"title"`
	Color           string `json:"color"`
	MaxMessageChars int    `json:"max_message_chars"`
}

func (s *Server) config(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=60")
	httpapi.WriteJSON(w, http.StatusOK, configView{Title: s.cfg.Title, Color: s.cfg.Color, MaxMessageChars: s.cfg.MaxMessageChars})
}
