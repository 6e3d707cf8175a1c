package config

import (
	"fmt"
	"math/big"
	"strings"
	"time"
)

// ParseDuration parses a duration like [time.ParseDuration] ("15s", "10m",
// "1h30m") and also accepts a day unit "d" of exactly 24 hours, alone or
// combined: "90d", "1.5d", "1d12h".
func ParseDuration(s string) (time.Duration, error) {
	if !strings.Contains(s, "d") {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		return d, nil
	}
	// Rewrite every "<number>d" as the same number of hours times 24, computed
	// exactly, and let time.ParseDuration check the rest of the syntax.
	var b strings.Builder
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		b.WriteByte(s[i])
		i++
	}
	for i < len(s) {
		j := i
		for j < len(s) && isNumberByte(s[j]) {
			j++
		}
		k := j
		for k < len(s) && !isNumberByte(s[k]) {
			k++
		}
		num, unit := s[i:j], s[j:k]
		if unit == "d" && num != "" {
			hours, ok := daysToHours(num)
			if !ok {
				return 0, fmt.Errorf("invalid duration %q", s)
			}
			b.WriteString(hours)
			b.WriteString("h")
		} else {
			b.WriteString(s[i:k])
		}
		i = k
	}
	d, err := time.ParseDuration(b.String())
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return d, nil
}

func isNumberByte(c byte) bool { return c >= '0' && c <= '9' || c == '.' }

// daysToHours multiplies a decimal number of days by 24 without rounding.
func daysToHours(num string) (string, bool) {
	if strings.Count(num, ".") > 1 || num == "." {
		return "", false
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return "", false
	}
	decimals := 0
	if dot := strings.IndexByte(num, '.'); dot >= 0 {
		decimals = len(num) - dot - 1
	}
	return r.Mul(r, big.NewRat(24, 1)).FloatString(decimals), true
}
