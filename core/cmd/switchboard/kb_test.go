package main

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/httpapi"
	"github.com/switchboard-chat/switchboard/core/kb"
	"github.com/switchboard-chat/switchboard/core/store"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestKBCommandsOffline(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	writeFile(t, cfg, "[server]\ndata_dir = \""+filepath.Join(dir, "data")+"\"\n")
	docs := filepath.Join(dir, "docs")
	writeFile(t, filepath.Join(docs, "faq.csv"), "question,answer\nHow long does shipping take?,3–5 business days.\n")
	writeFile(t, filepath.Join(docs, "more", "faq.md"), "## Do you gift wrap?\nYes.\n")
	writeFile(t, filepath.Join(docs, "image.png"), "not text")

	code, out, errOut := runCLI(t, "kb", "add", "--config", cfg, docs)
	if code != 0 || strings.Count(out, "created") != 2 {
		t.Fatalf("add: %d %q %q", code, out, errOut)
	}
	if code, out, _ = runCLI(t, "kb", "add", docs, "--config", cfg); code != 0 || strings.Count(out, "unchanged") != 2 {
		t.Errorf("add again: %d %q", code, out)
	}
	bad := filepath.Join(dir, "bad.csv")
	writeFile(t, bad, "question,answer\nq\n")
	code, _, errOut = runCLI(t, "kb", "add", "--config", cfg, bad)
	if code != 1 || !strings.Contains(errOut, "bad.csv:2:") {
		t.Errorf("bad file: %d %q", code, errOut)
	}
	code, out, _ = runCLI(t, "kb", "list", "--config", cfg)
	if code != 0 || strings.Count(out, "\n") != 2 || strings.Contains(out, "bad.csv") {
		t.Errorf("list: %d %q", code, out)
	}
	code, out, _ = runCLI(t, "kb", "search", "--config", cfg, "how long is shipping", "-k", "1")
	if code != 0 || !strings.Contains(out, "How long does shipping take?") || !strings.Contains(out, "3–5 business days.") {
		t.Errorf("search: %d %q", code, out)
	}
	name := kb.SourceName(filepath.Join(docs, "faq.csv"))
	if code, out, _ = runCLI(t, "kb", "remove", "--config", cfg, kb.DocumentID(name)); code != 0 || !strings.Contains(out, "removed") {
		t.Errorf("remove: %d %q", code, out)
	}
	if code, out, _ = runCLI(t, "kb", "search", "--config", cfg, "shipping"); code != 0 || !strings.Contains(out, "no match") {
		t.Errorf("search after remove: %d %q", code, out)
	}
	if code, _, errOut = runCLI(t, "kb", "remove", "--config", cfg, "doc_nope"); code != 1 || !strings.Contains(errOut, "no document") {
		t.Errorf("remove unknown: %d %q", code, errOut)
	}
	if code, _, _ = runCLI(t, "kb", "frobnicate"); code != 2 {
		t.Errorf("unknown subcommand: %d", code)
	}
}

// TestKBCommandsDaemonRunning holds the database like a running daemon
// and serves its API: the commands go through HTTP.
func TestKBCommandsDaemonRunning(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	dataDir := filepath.Join(dir, "data")
	writeFile(t, cfg, "[server]\ndata_dir = \""+dataDir+"\"\n")
	st, err := store.Open(filepath.Join(dataDir, "switchboard.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k, err := kb.Open(context.Background(), st, kb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	h, err := httpapi.New(httpapi.Config{MaxBodyBytes: 1 << 20, APIKeys: []string{"secret"}, KB: k}, st, nil, nil,
		func() (bool, any) { return true, nil }, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	faq := filepath.Join(dir, "faq.md")
	writeFile(t, faq, "## Where is your showroom?\n250 Harbor Street.\n")
	code, out, errOut := runCLI(t, "kb", "add", "--config", cfg, "--url", srv.URL, "--key", "secret", faq)
	if code != 0 || !strings.Contains(out, "created") {
		t.Fatalf("add through the daemon: %d %q %q", code, out, errOut)
	}
	if docs, _ := k.Documents(); len(docs) != 1 {
		t.Errorf("the daemon holds %d documents", len(docs))
	}
	code, out, _ = runCLI(t, "kb", "search", "--config", cfg, "--url", srv.URL, "--key", "secret", "showroom address")
	if code != 0 || !strings.Contains(out, "Where is your showroom?") {
		t.Errorf("search through the daemon: %d %q", code, out)
	}
}
