package store

import (
	"errors"
	"path/filepath"
	"testing"
)

// A database held by another process is reported as ErrLocked, so callers
// (the admin commands) can tell "the daemon is running" from a broken file.
func TestOpenHeldDatabaseIsErrLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	holder, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	s, err := Open(path, Options{})
	if err == nil {
		s.Close()
		t.Fatal("opened a database another handle holds")
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("error %v is not ErrLocked", err)
	}
}
