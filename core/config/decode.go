package config

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// decoder copies a koanf conf map onto a Config, driven by the struct's
// `toml` tags. It is strict about types (the environment layer has already
// converted its strings, see envValue) and collects one Problem per bad key
// instead of stopping at the first.
type decoder struct {
	problems []Problem
}

func (d *decoder) add(key, format string, args ...any) {
	d.problems = append(d.problems, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
}

// decode stores raw, found at key, into v.
func (d *decoder) decode(key string, raw any, v reflect.Value) {
	if v.Type() == reflect.TypeFor[time.Duration]() {
		s, ok := raw.(string)
		if !ok {
			d.add(key, "expected a duration string such as \"10m\", got %s", tomlType(raw))
			return
		}
		dur, err := ParseDuration(s)
		if err != nil {
			d.add(key, "%v", err)
			return
		}
		v.SetInt(int64(dur))
		return
	}
	if v.Type() == reflect.TypeFor[Unavailable]() {
		if s, ok := raw.(string); ok {
			if s != UnavailableTicket && s != UnavailableWait {
				d.add(key, "unknown value %q; use %q, %q or a table of cases", s, UnavailableTicket, UnavailableWait)
				return
			}
			v.Set(reflect.ValueOf(AllUnavailable(s)))
			return
		}
		if _, ok := raw.(map[string]any); !ok {
			d.add(key, "expected %q, %q or a table of cases, got %s", UnavailableTicket, UnavailableWait, tomlType(raw))
			return
		}
	}
	switch v.Kind() {
	case reflect.String:
		s, ok := raw.(string)
		if !ok {
			d.add(key, "expected a string, got %s", tomlType(raw))
			return
		}
		v.SetString(s)
	case reflect.Bool:
		b, ok := raw.(bool)
		if !ok {
			d.add(key, "expected a boolean, got %s", tomlType(raw))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, ok := toInt64(raw)
		if !ok {
			d.add(key, "expected an integer, got %s", tomlType(raw))
			return
		}
		if v.OverflowInt(n) {
			d.add(key, "integer %d is out of range", n)
			return
		}
		v.SetInt(n)
	case reflect.Float64:
		f, ok := toFloat64(raw)
		if !ok {
			d.add(key, "expected a number, got %s", tomlType(raw))
			return
		}
		v.SetFloat(f)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Struct {
			d.decodeTables(key, raw, v)
			return
		}
		d.decodeStrings(key, raw, v)
	case reflect.Map:
		d.decodeMap(key, raw, v)
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		if !v.IsNil() {
			elem.Elem().Set(v.Elem())
		}
		if d.decodeValid(key, raw, elem.Elem()) {
			v.Set(elem)
		}
	case reflect.Struct:
		d.decodeStruct(key, raw, v)
	default:
		// Only reachable if a field of an unsupported type is added to Config.
		panic(fmt.Sprintf("config: %s: unsupported field type %s", key, v.Type()))
	}
}

// decodeValid decodes like decode and reports whether raw had the right
// shape for v: false when the problem is with key itself (a string where a
// table is expected), true when it is only with keys inside it.
func (d *decoder) decodeValid(key string, raw any, v reflect.Value) bool {
	before := len(d.problems)
	d.decode(key, raw, v)
	for _, p := range d.problems[before:] {
		if p.Key == key {
			return false
		}
	}
	return true
}

// decodeStrings decodes an array of strings; it replaces the default list.
func (d *decoder) decodeStrings(key string, raw any, v reflect.Value) {
	if v.Type().Elem().Kind() != reflect.String {
		panic(fmt.Sprintf("config: %s: unsupported field type %s", key, v.Type()))
	}
	arr, ok := raw.([]any)
	if !ok {
		d.add(key, "expected an array of strings, got %s", tomlType(raw))
		return
	}
	out := reflect.MakeSlice(v.Type(), 0, len(arr))
	bad := false
	for i, item := range arr {
		s, ok := item.(string)
		if !ok {
			d.add(indexKey(key, i), "expected a string, got %s", tomlType(item))
			bad = true
			continue
		}
		out = reflect.Append(out, reflect.ValueOf(s).Convert(v.Type().Elem()))
	}
	if !bad {
		v.Set(out)
	}
}

// decodeTables decodes an array of tables ([[key]]) into a slice of
// structs; it replaces the default list.
func (d *decoder) decodeTables(key string, raw any, v reflect.Value) {
	arr, ok := raw.([]any)
	if !ok {
		d.add(key, "expected an array of tables ([[%s]] sections), got %s", key, tomlType(raw))
		return
	}
	out := reflect.MakeSlice(v.Type(), len(arr), len(arr))
	for i, item := range arr {
		d.decodeStruct(indexKey(key, i), item, out.Index(i))
	}
	v.Set(out)
}

// decodeMap decodes a table into a map, merging into the entries already
// there. A map[string]any is free-form: its content is taken as is.
func (d *decoder) decodeMap(key string, raw any, v reflect.Value) {
	tbl, ok := raw.(map[string]any)
	if !ok {
		d.add(key, "expected a table, got %s", tomlType(raw))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(v.Type(), len(tbl)))
	}
	elemType := v.Type().Elem()
	for _, name := range sortedKeys(tbl) {
		val := tbl[name]
		if elemType.Kind() == reflect.Interface {
			v.SetMapIndex(reflect.ValueOf(name), reflect.ValueOf(val))
			continue
		}
		elem := reflect.New(elemType).Elem()
		if old := v.MapIndex(reflect.ValueOf(name)); old.IsValid() {
			elem.Set(old)
		}
		if d.decodeValid(childKey(key, name), val, elem) {
			v.SetMapIndex(reflect.ValueOf(name), elem)
		}
	}
}

// decodeStruct decodes a table into a struct; keys without a matching
// `toml` tag are unknown.
func (d *decoder) decodeStruct(key string, raw any, v reflect.Value) {
	tbl, ok := raw.(map[string]any)
	if !ok {
		d.add(key, "expected a table, got %s", tomlType(raw))
		return
	}
	fields := map[string]int{}
	for i := range v.NumField() {
		if tag := v.Type().Field(i).Tag.Get("toml"); tag != "" && tag != "-" {
			fields[tag] = i
		}
	}
	known := sortedKeys(fields)
	for _, name := range sortedKeys(tbl) {
		k := childKey(key, name)
		i, ok := fields[name]
		if !ok {
			d.add(k, "%s", unknownKeyMessage(key == "", name, known))
			continue
		}
		d.decode(k, tbl[name], v.Field(i))
	}
}

// unknownKeyMessage explains an unknown key, suggesting a close known one.
func unknownKeyMessage(topLevel bool, name string, known []string) string {
	what := "unknown key"
	if topLevel {
		what = "unknown section"
	}
	if s := suggest(name, known); s != "" {
		return fmt.Sprintf("%s (did you mean %q?)", what, s)
	}
	if topLevel {
		return fmt.Sprintf("%s; known sections are %s", what, strings.Join(known, ", "))
	}
	return fmt.Sprintf("%s; known keys are %s", what, strings.Join(known, ", "))
}

// suggest returns the known name closest to name if it is a likely typo.
func suggest(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if dist := editDistance(name, k); dist < bestDist && dist < len([]rune(k)) {
			best, bestDist = k, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// toInt64 accepts TOML integers, and floats with an integral value (1e6).
func toInt64(raw any) (int64, bool) {
	switch n := raw.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		if n == math.Trunc(n) && n >= math.MinInt64 && n < math.MaxInt64 {
			return int64(n), true
		}
	}
	return 0, false
}

// toFloat64 accepts TOML floats and integers.
func toFloat64(raw any) (float64, bool) {
	switch n := raw.(type) {
	case float64:
		return n, !math.IsNaN(n) && !math.IsInf(n, 0)
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	}
	return 0, false
}

// tomlType names the TOML type of a decoded value, for messages. It never
// shows the value itself, which may be a secret.
func tomlType(raw any) string {
	switch raw.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case int64, int:
		return "integer"
	case float64:
		return "float"
	case []any:
		return "array"
	case map[string]any:
		return "table"
	case time.Time:
		return "datetime"
	}
	if strings.HasPrefix(fmt.Sprintf("%T", raw), "toml.Local") {
		return "datetime"
	}
	return fmt.Sprintf("%T", raw)
}

// childKey is the full key of name inside the table at parent, quoting
// names that are not bare TOML keys.
func childKey(parent, name string) string {
	if !isBareKey(name) {
		name = strconv.Quote(name)
	}
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// indexKey is the key of the i-th item of the array at key.
func indexKey(key string, i int) string {
	return fmt.Sprintf("%s[%d]", key, i)
}

func isBareKey(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
