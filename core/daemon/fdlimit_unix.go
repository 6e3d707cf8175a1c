//go:build unix

package daemon

import "syscall"

// openFileLimit is the process's limit on open files; ok is false when it
// cannot be read.
func openFileLimit() (limit uint64, ok bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, false
	}
	return uint64(rl.Cur), true
}
