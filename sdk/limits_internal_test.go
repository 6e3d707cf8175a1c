package sdk

import (
	"strconv"
	"testing"
)

func TestMessageLimitFromTheEnvironment(t *testing.T) {
	tests := []struct {
		env  string
		want int
	}{
		{"", DefaultMessageLimit},
		{"junk", DefaultMessageLimit},
		{"-5", DefaultMessageLimit},
		{strconv.Itoa(MessageLimit(8 << 20)), 8<<20 + MessageFraming},
	}
	for _, tt := range tests {
		t.Setenv(MessageLimitEnv, tt.env)
		if got := messageLimitFromEnv(); got != tt.want {
			t.Errorf("%s=%q: limit %d, want %d", MessageLimitEnv, tt.env, got, tt.want)
		}
	}
}
