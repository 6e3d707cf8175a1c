//go:build !unix

package daemon

// openFileLimit is the process's limit on open files; ok is false where it
// is not known.
func openFileLimit() (limit uint64, ok bool) { return 0, false }
