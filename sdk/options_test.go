package sdk

import (
	"errors"
	"strings"
	"testing"
)

func TestURLOptions(t *testing.T) {
	tests := []struct {
		value    string
		url      string // URLOption's result; "" for an error
		base     string // BaseURLOption's result; "" for an error
		mentions string // the error mentions it
	}{
		{"https://api.example.com", "https://api.example.com", "https://api.example.com", ""},
		{" http://127.0.0.1:8080/prefix/ ", "http://127.0.0.1:8080/prefix/", "http://127.0.0.1:8080/prefix", ""},
		{"https://example.com/hook?token=abc", "https://example.com/hook?token=abc", "", "query"},
		{"https://example.com/?", "https://example.com/?", "", "query"},
		{"https://example.com/#top", "", "", "fragment"},
		{"", "", "", "want one like"},
		{"example.com", "", "", "want one like"},
		{"ftp://example.com", "", "", "ftp"},
		{"http://", "", "", "want one like"},
		{"http:example.com", "", "", "want one like"},
		{"127.0.0.1:11434", "", "", "colon"},
		{"http://user:hunter2@%zz", "", "", "escape"},
		{"ftp://user:hunter2@example.com", "", "", "xxxxx"},
	}
	for _, tt := range tests {
		for _, check := range []struct {
			name string
			f    func(key, value string) (string, error)
			want string
		}{{"URLOption", URLOption, tt.url}, {"BaseURLOption", BaseURLOption, tt.base}} {
			got, err := check.f("api_base", tt.value)
			if check.want != "" {
				if err != nil || got != check.want {
					t.Errorf("%s(%q) = %q, %v; want %q", check.name, tt.value, got, err, check.want)
				}
				continue
			}
			var oe *OptionError
			if err == nil || !errors.As(err, &oe) || oe.Key != "api_base" || !errors.Is(err, ErrNotHTTPURL) {
				t.Errorf("%s(%q) = %q, %v; want an OptionError for api_base", check.name, tt.value, got, err)
				continue
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, `option "api_base": `) || !strings.Contains(msg, tt.mentions) || strings.Contains(msg, "hunter2") {
				t.Errorf("%s(%q): message %q", check.name, tt.value, msg)
			}
		}
	}
}
