package httpapi

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:generate go run ../cmd/postman -o ../../examples/postman/switchboard.postman_collection.json

// openAPI is the OpenAPI 3.1 document of every route under /v1, /w/v1,
// /op/v1 and /oauth. Tests hold it to the routes the servers register and
// to the requests and answers they exchange.
//
//go:embed openapi.json
var openAPI []byte

// docsFiles are the API reference page and its renderer.
//
//go:embed docs
var docsFiles embed.FS

// OpenAPI returns the OpenAPI document, JSON.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

// docsCSP lets the reference page run its own script and read the
// document, nothing else.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// docRoutes serves the document at GET /v1/openapi.json (without a key:
// it describes the API, it holds no data) and the reference page at /docs.
func (s *Server) docRoutes() {
	s.mux.HandleFunc("GET /v1/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write(openAPI)
	})
	sub, _ := fs.Sub(docsFiles, "docs")
	files := http.FileServerFS(sub)
	s.mux.Handle("GET /docs", http.RedirectHandler("/docs/", http.StatusMovedPermanently))
	s.mux.Handle("GET /docs/", http.StripPrefix("/docs", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", docsCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if strings.HasSuffix(r.URL.Path, "/") && r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})))
}
