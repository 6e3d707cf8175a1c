package kb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// SourceName is the document name of a file: its path, cleaned, with
// forward slashes, so the same file gets the same name on every system.
func SourceName(path string) string { return filepath.ToSlash(filepath.Clean(path)) }

// ReadSources reads the files at paths: a file is read as given, a folder
// for every file in it and its subfolders whose type DetectFormat knows
// (hidden files and folders left out). Inputs come sorted by name, named
// with SourceName. A path that does not exist, or a file given by name
// whose type is unknown, is an error.
func ReadSources(paths []string) ([]Input, error) {
	var out []Input
	seen := map[string]bool{}
	add := func(path string) error {
		name := SourceName(path)
		if seen[name] {
			return nil
		}
		seen[name] = true
		f, err := DetectFormat(name)
		if err != nil {
			return err
		}
		content, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out = append(out, Input{Name: name, Format: f, Content: content})
		return nil
	}
	for _, root := range paths {
		info, err := os.Stat(root)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			if err := add(root); err != nil {
				return nil, err
			}
			continue
		}
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path != root && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() || !d.Type().IsRegular() {
				return nil
			}
			if _, err := DetectFormat(path); err != nil {
				return nil // not a knowledge-base file
			}
			return add(path)
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b Input) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// SyncReport says what a Sync did, by document name.
type SyncReport struct {
	// Imported are new and changed files, now imported.
	Imported []string
	// Unchanged are files whose content was already imported.
	Unchanged []string
	// Removed are documents whose file is gone.
	Removed []string
	// Failed are files that could not be read or imported, with the
	// reason; their previous version, if any, is kept.
	Failed map[string]error
}

// owned reports whether the document named name comes from one of the
// source paths: the path itself or a file below it.
func owned(name string, sources []string) bool {
	for _, s := range sources {
		s = SourceName(s)
		if name == s || s == "." && !strings.HasPrefix(name, "../") && !filepath.IsAbs(name) ||
			strings.HasPrefix(name, strings.TrimSuffix(s, "/")+"/") {
			return true
		}
	}
	return false
}

// Sync makes the knowledge base match the files at the source paths: new
// and changed files are imported, documents whose file is gone are
// removed, and unchanged files (same content hash) cost one read. The
// entries written in the console (OriginConsole) are no file's and stay. Each
// file is imported in a transaction of its own, so a file that cannot be
// parsed only keeps its own previous version. When a source path itself
// is missing nothing under it is removed: a folder that is not mounted is
// not a folder that was emptied.
func (k *KB) Sync(ctx context.Context, sources []string) (SyncReport, error) {
	rep := SyncReport{Failed: map[string]error{}}
	docs, err := k.Documents()
	if err != nil {
		return rep, err
	}
	stored := map[string]Document{}
	for _, d := range docs {
		stored[d.Name] = d
	}
	var present []string
	files := map[string]bool{}
	for _, src := range sources {
		if _, err := os.Stat(src); err != nil {
			rep.Failed[SourceName(src)] = err
			continue
		}
		present = append(present, src)
		ins, err := ReadSources([]string{src})
		if err != nil {
			rep.Failed[SourceName(src)] = err
			present = present[:len(present)-1]
			continue
		}
		for _, in := range ins {
			files[in.Name] = true
			if d, ok := stored[in.Name]; ok && d.SHA256 == contentHash(in.Format, in.Content) {
				rep.Unchanged = append(rep.Unchanged, in.Name)
				continue
			}
			if _, err := k.Import(ctx, in); err != nil {
				if ctx.Err() != nil {
					return rep, ctx.Err()
				}
				rep.Failed[in.Name] = err
				continue
			}
			rep.Imported = append(rep.Imported, in.Name)
		}
	}
	for _, d := range docs {
		if files[d.Name] || d.Origin != "" || !owned(d.Name, present) {
			continue
		}
		if _, err := k.Remove(ctx, d.ID); err != nil && !errors.Is(err, ErrNotFound) {
			rep.Failed[d.Name] = fmt.Errorf("remove: %w", err)
			continue
		}
		rep.Removed = append(rep.Removed, d.Name)
	}
	return rep, nil
}
