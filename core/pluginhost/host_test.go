package pluginhost

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVerifyBinary(t *testing.T) {
	content := []byte("#!/bin/sh\nexit 0\n")
	sum := sha256.Sum256(content)
	good := hex.EncodeToString(sum[:])
	tests := []struct {
		name     string
		mode     os.FileMode
		dirMode  os.FileMode
		pin      string
		missing  bool
		wantErrs []string
	}{
		{name: "ok", mode: 0o755, dirMode: 0o755},
		{name: "pinned ok", mode: 0o755, dirMode: 0o755, pin: good},
		{name: "wrong pin", mode: 0o755, dirMode: 0o755, pin: strings.Repeat("0", 64), wantErrs: []string{"checksum mismatch", good, strings.Repeat("0", 64), "echo"}},
		{name: "world writable", mode: 0o757, dirMode: 0o755, wantErrs: []string{"writable by other users"}},
		{name: "world writable dir", mode: 0o755, dirMode: 0o777, wantErrs: []string{"plugin directory", "writable by other users"}},
		{name: "not executable", mode: 0o644, dirMode: 0o755, wantErrs: []string{"not an executable"}},
		{name: "missing", missing: true, dirMode: 0o755, wantErrs: []string{"echo", "no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "plugins")
			os.Mkdir(dir, 0o755)
			if !tt.missing {
				os.WriteFile(filepath.Join(dir, "echo"), content, 0o700)
				os.Chmod(filepath.Join(dir, "echo"), tt.mode)
			}
			os.Chmod(dir, tt.dirMode)
			_, err := VerifyBinary(dir, "echo", tt.pin)
			if len(tt.wantErrs) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tt.wantErrs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}
