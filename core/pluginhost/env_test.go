package pluginhost

import (
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/sdk"
)

func TestPluginEnv(t *testing.T) {
	t.Setenv("SWITCHBOARD_CHANNELS__TG__OPTIONS__TOKEN", "secret")
	t.Setenv("BENCH_PLAIN", "kept")
	tests := []struct {
		level string
		want  []string // present
	}{
		{"warn", []string{"BENCH_PLAIN=kept", sdk.LogLevelEnv + "=warn"}},
		{"", []string{"BENCH_PLAIN=kept"}},
	}
	for _, tt := range tests {
		env := pluginEnv(tt.level)
		for _, w := range tt.want {
			if !slices.Contains(env, w) {
				t.Errorf("pluginEnv(%q) lacks %s", tt.level, w)
			}
		}
		for _, kv := range env {
			if strings.HasPrefix(kv, "SWITCHBOARD_CHANNELS") {
				t.Errorf("pluginEnv(%q) passes the daemon's setting %s", tt.level, kv)
			}
			if tt.level == "" && strings.HasPrefix(kv, sdk.LogLevelEnv) {
				t.Errorf("pluginEnv(\"\") sets %s", kv)
			}
		}
	}
}
