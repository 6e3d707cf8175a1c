package httpapi

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboard-chat/switchboard/core/httplimit"
	"github.com/switchboard-chat/switchboard/core/kb"
	"github.com/switchboard-chat/switchboard/core/store"
)

// KnowledgeBase is what the REST API needs from the knowledge base.
type KnowledgeBase interface {
	Import(ctx context.Context, in kb.Input) (kb.Imported, error)
	Documents() ([]kb.Document, error)
	Remove(ctx context.Context, idOrName string) (kb.Document, error)
	Search(ctx context.Context, query string, limit int) ([]kb.Hit, error)
}

// Search result limits of GET /v1/kb/search.
const (
	defaultSearchHits = 5
	maxSearchHits     = 50
)

// routeKB registers the knowledge-base routes.
func (s *Server) routeKB() {
	read, write := store.ScopeKBRead, store.ScopeKBWrite
	s.route("POST /v1/kb/documents", write, s.kbImport)
	s.route("GET /v1/kb/documents", read, s.kbList)
	s.route("DELETE /v1/kb/documents/{id}", write, s.kbRemove)
	s.route("GET /v1/kb/search", read, s.kbSearch)
	s.route("GET /v1/kb/gaps", read, s.kbGaps)
}

// kbAvailable answers 404 when the server has no knowledge base.
func (s *Server) kbAvailable(w http.ResponseWriter) bool {
	if s.cfg.KB == nil {
		writeError(w, http.StatusNotFound, "not_found", "the knowledge base is not available")
		return false
	}
	return true
}

// KBDocumentRequest is the JSON body of POST /v1/kb/documents.
type KBDocumentRequest struct {
	// Name identifies the document; importing the same name again
	// replaces it.
	Name string `json:"name"`
	// Format is faq, csv, markdown, text or html; "" tells it from the
	// name's extension.
	Format string `json:"format"`
	// Content is the file's text.
	Content string `json:"content"`
}

// kbImport imports one document, from a multipart upload (a "file" part,
// optional "name" and "format" fields) or a JSON KBDocumentRequest.
func (s *Server) kbImport(w http.ResponseWriter, r *http.Request) {
	if !s.kbAvailable(w) {
		return
	}
	// Embedding a long document can take longer than the server's write
	// timeout.
	httplimit.KeepOpen(w)
	var in kb.Input
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType == "multipart/form-data" {
		var ok bool
		if in, ok = readUpload(w, r); !ok {
			return
		}
	} else {
		var req KBDocumentRequest
		if !decodeJSON(w, r, &req) {
			return
		}
		in = kb.Input{Name: req.Name, Format: kb.Format(req.Format), Content: []byte(req.Content)}
	}
	res, err := s.cfg.KB.Import(r.Context(), in)
	var pe *kb.ParseError
	switch {
	case errors.As(err, &pe), errors.Is(err, kb.ErrInvalid), errors.Is(err, kb.ErrUnknownFormat):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	case err != nil:
		s.internalError(w, "import document", err)
		return
	}
	if res.Status != kb.Unchanged {
		s.audit(r, "kb.import", res.ID+" ("+res.Name+")", nil)
	}
	s.writeJSON(w, http.StatusCreated, res)
}

// readUpload reads a multipart upload into an input, answering the
// request itself when it cannot.
func readUpload(w http.ResponseWriter, r *http.Request) (kb.Input, bool) {
	var in kb.Input
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "malformed multipart body: "+err.Error())
		return in, false
	}
	var fileName string
	gotFile := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return in, uploadError(w, err)
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return in, uploadError(w, err)
		}
		switch part.FormName() {
		case "file":
			if gotFile {
				writeError(w, http.StatusBadRequest, "bad_request", `send one "file" part per request`)
				return in, false
			}
			gotFile, fileName, in.Content = true, part.FileName(), data
		case "name":
			in.Name = strings.TrimSpace(string(data))
		case "format":
			in.Format = kb.Format(strings.TrimSpace(string(data)))
		default:
			writeError(w, http.StatusBadRequest, "bad_request", "unknown form field "+strconv.Quote(part.FormName())+`; send "file" and optionally "name" and "format"`)
			return in, false
		}
	}
	if !gotFile {
		writeError(w, http.StatusBadRequest, "bad_request", `the multipart body has no "file" part`)
		return in, false
	}
	if in.Name == "" {
		in.Name = fileName
	}
	return in, true
}

func uploadError(w http.ResponseWriter, err error) bool {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the document exceeds server.max_body_bytes")
		return false
	}
	writeError(w, http.StatusBadRequest, "bad_request", "malformed multipart body: "+err.Error())
	return false
}

func (s *Server) kbList(w http.ResponseWriter, r *http.Request) {
	if !s.kbAvailable(w) {
		return
	}
	p, ok := pageParams(w, r, orderAsc)
	if !ok {
		return
	}
	docs, err := s.cfg.KB.Documents()
	if err != nil {
		s.internalError(w, "list documents", err)
		return
	}
	// A document's id comes from its name and stays through re-imports.
	docs, next := pageOf(p, docs, func(d kb.Document) []byte { return []byte(d.ID) })
	if docs == nil {
		docs = []kb.Document{}
	}
	s.writeJSON(w, http.StatusOK, listBody("documents", docs, next))
}

func (s *Server) kbRemove(w http.ResponseWriter, r *http.Request) {
	if !s.kbAvailable(w) {
		return
	}
	doc, err := s.cfg.KB.Remove(r.Context(), r.PathValue("id"))
	if errors.Is(err, kb.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no document "+strconv.Quote(r.PathValue("id")))
		return
	}
	if err != nil {
		s.internalError(w, "remove document", err)
		return
	}
	s.audit(r, "kb.remove", doc.ID+" ("+doc.Name+")", nil)
	s.writeJSON(w, http.StatusOK, doc)
}

// kbResult is one search result of GET /v1/kb/search.
type kbResult struct {
	ID           string  `json:"id"`
	Document     string  `json:"document"`
	DocumentName string  `json:"document_name"`
	Kind         string  `json:"kind"`
	Title        string  `json:"title"`
	Text         string  `json:"text"`
	Score        float64 `json:"score"`
}

func (s *Server) kbSearch(w http.ResponseWriter, r *http.Request) {
	if !s.kbAvailable(w) {
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" {
		writeError(w, http.StatusBadRequest, "bad_request", `"q" is required: the text to search for`)
		return
	}
	k := defaultSearchHits
	if v := r.URL.Query().Get("k"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxSearchHits {
			writeError(w, http.StatusBadRequest, "bad_request", `"k" must be a number from 1 to `+strconv.Itoa(maxSearchHits))
			return
		}
		k = n
	}
	hits, err := s.cfg.KB.Search(r.Context(), q, k)
	if err != nil {
		s.internalError(w, "search the knowledge base", err)
		return
	}
	out := make([]kbResult, len(hits))
	for i, h := range hits {
		out[i] = kbResult{ID: h.ID, Document: h.Document, DocumentName: h.DocumentName, Kind: h.Kind, Title: h.Title, Text: h.Text, Score: h.Score}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"results": out})
}

func (s *Server) kbGaps(w http.ResponseWriter, r *http.Request) {
	p, ok := pageParams(w, r, orderAsc)
	if !ok {
		return
	}
	gaps, err := s.store.KBGaps(0)
	if err != nil {
		s.internalError(w, "list knowledge gaps", err)
		return
	}
	// Most asked first, then the latest asked: the store's order.
	gaps, next := pageOf(p, gaps, gapKey)
	if gaps == nil {
		gaps = []store.KBGap{}
	}
	s.writeJSON(w, http.StatusOK, listBody("gaps", gaps, next))
}

// gapKey orders knowledge gaps most asked first, then latest asked, then
// by question.
func gapKey(g store.KBGap) []byte {
	k := binary.BigEndian.AppendUint64(nil, math.MaxUint64-uint64(g.Count))
	k = binary.BigEndian.AppendUint64(k, math.MaxUint64-(uint64(g.LastSeen.UnixNano())^(1<<63)))
	return append(k, g.Question...)
}
