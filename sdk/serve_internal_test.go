package sdk

import (
	"runtime"
	"testing"
)

func TestHalfTheCores(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, tc := range []struct {
		env        string
		procs, got int
	}{
		{env: "", procs: 8, got: 4},
		{env: "", procs: 3, got: 1},
		{env: "", procs: 1, got: 1},
		{env: "6", procs: 6, got: 6}, // set by the operator: left alone
	} {
		t.Setenv("GOMAXPROCS", tc.env)
		runtime.GOMAXPROCS(tc.procs)
		halfTheCores()
		if got := runtime.GOMAXPROCS(0); got != tc.got {
			t.Errorf("GOMAXPROCS=%q, %d threads: halfTheCores left %d, want %d", tc.env, tc.procs, got, tc.got)
		}
	}
}
