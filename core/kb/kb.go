// Package kb is the knowledge base: the business's own FAQ and documents,
// imported from files into the daemon's database, searched by full-text
// ranking (and by embeddings when a model provides them), and used to
// answer visitors verbatim from an FAQ when no model runs, or to ground a
// model's answer in the passages found.
//
// Everything is stored through the store's knowledge-base bucket, so an
// import or removal commits whole or not at all, and a search reads one
// consistent snapshot.
package kb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	bolt "go.etcd.io/bbolt"
)

// Store is what the knowledge base needs from the daemon's database.
type Store interface {
	// KBUpdate runs fn in a write transaction on the knowledge base's
	// bucket; what fn writes commits together or not at all. fn may run
	// more than once.
	KBUpdate(ctx context.Context, fn func(root *bolt.Bucket) error) error
	// KBView runs fn in a read transaction; root is nil while nothing was
	// ever stored.
	KBView(fn func(root *bolt.Bucket) error) error
}

// ErrNotFound is returned for a document that does not exist.
var ErrNotFound = errors.New("not found")

// ErrInvalid is wrapped by errors about a document's name or content that
// come before parsing (a *ParseError describes bad content).
var ErrInvalid = errors.New("invalid document")

// maxNameBytes bounds a document's name.
const maxNameBytes = 512

// Document is an imported source file.
type Document struct {
	// ID is derived from the name, so importing a file under the same name
	// again replaces it.
	ID string `json:"id"`
	// Name is the file's path as given when it was imported.
	Name string `json:"name"`
	// Format is how the content was read.
	Format Format `json:"format"`
	// SHA256 is the hex SHA-256 of the format and content; an import of
	// the same content is a no-op.
	SHA256 string `json:"sha256"`
	// Bytes is the content's size.
	Bytes int `json:"bytes"`
	// Chunks is how many FAQ entries or passages it holds.
	Chunks int `json:"chunks"`
	// ImportedAt is when this version was imported.
	ImportedAt time.Time `json:"imported_at"`
	// Origin is OriginConsole for the entries the team writes in the
	// console, empty for a file or an upload.
	Origin string `json:"origin,omitempty"`
}

// Input is a document to import.
type Input struct {
	// Name identifies the document (a file path, usually).
	Name string
	// Format is how to read Content; "" detects it from Name (see
	// DetectFormat).
	Format Format
	// Content is the file's bytes.
	Content []byte
	// Origin is the document's Origin.
	Origin string
}

// Import outcomes.
const (
	// Created: no document had this name.
	Created = "created"
	// Replaced: the document's previous version was replaced.
	Replaced = "replaced"
	// Unchanged: the same content was already imported; nothing was
	// written.
	Unchanged = "unchanged"
)

// Imported is the outcome of importing one document.
type Imported struct {
	Document
	// Status is Created, Replaced or Unchanged.
	Status string `json:"status"`
}

// Options configure a knowledge base.
type Options struct {
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Embedder, when set, gives chunks and queries embeddings for the
	// vector half of the search; nil searches by full text alone.
	Embedder Embedder
	// EmbedModel names the embedding model. Vectors made by another model
	// are ignored and made again.
	EmbedModel string
}

// KB is a knowledge base stored in the daemon's database. It is safe for
// concurrent use.
type KB struct {
	st      Store
	now     func() time.Time
	embed   Embedder
	model   string
	vectors vectorCache
	pending chan struct{} // wakes the embedder after imports
	// saving serialises SaveEntry's read, change and import of a
	// document.
	saving sync.Mutex
}

// Open returns the knowledge base of st. An index written by another
// version of the text analysis is rebuilt from the stored chunks first.
func Open(ctx context.Context, st Store, opts Options) (*KB, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	k := &KB{st: st, now: opts.Now, embed: opts.Embedder, model: opts.EmbedModel, pending: make(chan struct{}, 1)}
	var version []byte
	err := st.KBView(func(root *bolt.Bucket) error {
		if root != nil {
			if meta := root.Bucket(bucketMeta); meta != nil {
				version = bytes.Clone(meta.Get(keyVersion))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if version != nil && string(version) != analyzerVersion {
		if err := k.Rebuild(ctx); err != nil {
			return nil, fmt.Errorf("rebuild the knowledge base index: %w", err)
		}
	}
	return k, nil
}

// DocumentID is the ID of the document named name.
func DocumentID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "doc_" + hex.EncodeToString(sum[:6])
}

func contentHash(f Format, content []byte) string {
	h := sha256.New()
	h.Write([]byte(f))
	h.Write([]byte{0})
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

// checkName refuses names that cannot identify a document.
func checkName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return fmt.Errorf("%w: the name is empty", ErrInvalid)
	case len(name) > maxNameBytes:
		return fmt.Errorf("%w: the name is longer than %d bytes", ErrInvalid, maxNameBytes)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: the name %q contains control characters", ErrInvalid, name)
	}
	return nil
}

// parsed is an input ready to store.
type parsed struct {
	doc    Document
	chunks []Chunk
	units  [][]unitTerms
}

func (k *KB) parse(in Input) (parsed, error) {
	if err := checkName(in.Name); err != nil {
		return parsed{}, err
	}
	f := in.Format
	var err error
	if f == "" {
		f, err = DetectFormat(in.Name)
	} else {
		f, err = ParseFormat(string(f))
	}
	if err != nil {
		return parsed{}, fmt.Errorf("%s: %w", in.Name, err)
	}
	chunks, err := Parse(in.Name, f, in.Content)
	if err != nil {
		return parsed{}, err
	}
	return parsed{
		units: analyzeChunks(chunks),
		doc: Document{
			ID: DocumentID(in.Name), Name: in.Name, Format: f, SHA256: contentHash(f, in.Content),
			Bytes: len(in.Content), Chunks: len(chunks), ImportedAt: k.now().UTC(), Origin: in.Origin,
		},
		chunks: chunks,
	}, nil
}

// Import parses a document and stores it, replacing the document of the
// same name in the same transaction: a reader, or a daemon restarted at
// any moment, sees the old version or the new one, never a mix. A file
// that cannot be parsed is refused with a *ParseError and nothing is
// stored. Importing the same content again writes nothing.
func (k *KB) Import(ctx context.Context, in Input) (Imported, error) {
	out, err := k.ImportAll(ctx, []Input{in})
	if err != nil {
		return Imported{}, err
	}
	return out[0], nil
}

// ImportAll imports several documents in one transaction: all of them or,
// when one cannot be parsed, none.
func (k *KB) ImportAll(ctx context.Context, ins []Input) ([]Imported, error) {
	docs := make([]parsed, 0, len(ins))
	ids := map[string]string{}
	for _, in := range ins {
		p, err := k.parse(in)
		if err != nil {
			return nil, err
		}
		if other, dup := ids[p.doc.ID]; dup {
			return nil, fmt.Errorf("%w: %q is given twice", ErrInvalid, other)
		}
		ids[p.doc.ID] = in.Name
		docs = append(docs, p)
	}
	var out []Imported
	err := k.st.KBUpdate(ctx, func(root *bolt.Bucket) error {
		out = out[:0]
		w, err := newWriter(root)
		if err != nil {
			return err
		}
		docsB := w.b[string(bucketDocs)]
		changed := false
		for _, p := range docs {
			var old docRecord
			status := Created
			if v := docsB.Get([]byte(p.doc.ID)); v != nil {
				if err := json.Unmarshal(v, &old); err != nil {
					return fmt.Errorf("decode document %s: %w", p.doc.ID, err)
				}
				if old.SHA256 == p.doc.SHA256 && old.Name == p.doc.Name {
					out = append(out, Imported{Document: old.Document, Status: Unchanged})
					continue
				}
				status = Replaced
				for _, num := range old.Nums {
					if err := w.removeChunk(num); err != nil {
						return err
					}
				}
			}
			rec := docRecord{Document: p.doc}
			for i, c := range p.chunks {
				num, err := w.addChunk(&chunkRecord{Doc: p.doc.ID, Seq: i + 1, Chunk: c}, p.units[i])
				if err != nil {
					return err
				}
				rec.Nums = append(rec.Nums, num)
			}
			data, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			if err := docsB.Put([]byte(p.doc.ID), data); err != nil {
				return err
			}
			changed = true
			out = append(out, Imported{Document: p.doc, Status: status})
		}
		if !changed {
			return nil
		}
		return w.flush()
	})
	if err != nil {
		return nil, err
	}
	k.wakeEmbedder()
	return out, nil
}

// Remove deletes a document, by ID or name, with its chunks and index
// entries, in one transaction.
func (k *KB) Remove(ctx context.Context, idOrName string) (Document, error) {
	var doc Document
	err := k.st.KBUpdate(ctx, func(root *bolt.Bucket) error {
		w, err := newWriter(root)
		if err != nil {
			return err
		}
		docsB := w.b[string(bucketDocs)]
		id := idOrName
		v := docsB.Get([]byte(id))
		if v == nil {
			id = DocumentID(idOrName)
			v = docsB.Get([]byte(id))
		}
		if v == nil {
			return fmt.Errorf("document %q: %w", idOrName, ErrNotFound)
		}
		var rec docRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode document %s: %w", id, err)
		}
		for _, num := range rec.Nums {
			if err := w.removeChunk(num); err != nil {
				return err
			}
		}
		if err := docsB.Delete([]byte(id)); err != nil {
			return err
		}
		doc = rec.Document
		return w.flush()
	})
	return doc, err
}

// Documents lists the imported documents by name.
func (k *KB) Documents() ([]Document, error) {
	var out []Document
	err := k.st.KBView(func(root *bolt.Bucket) error {
		if root == nil || root.Bucket(bucketDocs) == nil {
			return nil
		}
		return root.Bucket(bucketDocs).ForEach(func(id, v []byte) error {
			var rec docRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode document %s: %w", id, err)
			}
			out = append(out, rec.Document)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b Document) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}

// Chunks returns a document's chunks in order, by document ID or name.
func (k *KB) Chunks(idOrName string) ([]Hit, error) {
	var out []Hit
	err := k.st.KBView(func(root *bolt.Bucket) error {
		r, err := newReader(root)
		if err != nil {
			return err
		}
		rec, ok, err := r.doc(idOrName)
		if err == nil && !ok {
			rec, ok, err = r.doc(DocumentID(idOrName))
		}
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("document %q: %w", idOrName, ErrNotFound)
		}
		for _, num := range rec.Nums {
			h, err := r.hit(num)
			if err != nil {
				return err
			}
			out = append(out, h)
		}
		return nil
	})
	return out, err
}

// Rebuild recreates the index from the stored chunks, in one transaction.
func (k *KB) Rebuild(ctx context.Context) error {
	return k.st.KBUpdate(ctx, func(root *bolt.Bucket) error {
		for _, name := range [][]byte{bucketPostings, bucketVocab, bucketFuzzy} {
			if root.Bucket(name) != nil {
				if err := root.DeleteBucket(name); err != nil {
					return err
				}
			}
		}
		w, err := newWriter(root)
		if err != nil {
			return err
		}
		w.stats = stats{}
		c := w.b[string(bucketChunks)].Cursor()
		for key, v := c.First(); key != nil; key, v = c.Next() {
			var rec chunkRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode chunk %d: %w", binary.BigEndian.Uint32(key), err)
			}
			w.indexChunk(binary.BigEndian.Uint32(key), chunkUnits(&rec.Chunk))
		}
		return w.flush()
	})
}

// generation is the knowledge base's write counter: it changes with every
// import and removal.
func (k *KB) generation() (uint64, error) {
	var gen uint64
	err := k.st.KBView(func(root *bolt.Bucket) error {
		r, err := newReader(root)
		gen = r.gen
		return err
	})
	return gen, err
}
