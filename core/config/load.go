package config

import (
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/toml/v2"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
	gotoml "github.com/pelletier/go-toml/v2"
)

// keyDelim separates levels in koanf key paths. Channel names cannot contain
// it, and Load never looks keys up by path, so option keys that contain a
// dot (quoted TOML keys) survive unchanged.
const keyDelim = "."

// Load reads the TOML file at path over the defaults, applies the overrides
// found in environ (a list of "NAME=value" strings, normally os.Environ();
// see the package documentation for the naming) and validates the result.
// An empty path skips the file: defaults and environment only.
//
// A file that cannot be read or parsed is reported as a plain error (wrapping
// the underlying one, so errors.Is(err, fs.ErrNotExist) works). Every problem
// with the content — unknown keys, wrong types, invalid values, malformed
// environment overrides — is reported at once in a *ValidationError; the
// Config is then returned as well (with defaults where values were bad), so
// callers can run further checks such as CheckPlugins and report all
// problems together. On any other error the returned Config is nil.
//
// Load does not look at plugin binaries; see [Config.CheckPlugins].
func Load(path string, environ []string) (*Config, error) {
	ko := koanf.New(keyDelim)
	if path != "" {
		if err := ko.Load(file.Provider(path), toml.Parser()); err != nil {
			var de *gotoml.DecodeError
			var pe *fs.PathError
			switch {
			case errors.As(err, &de):
				line, col := de.Position()
				return nil, fmt.Errorf("config: parse %s:%d:%d: %w", path, line, col, err)
			case errors.As(err, &pe):
				return nil, fmt.Errorf("config: %w", err) // names the path
			default:
				// go-toml reports some errors, such as a key defined
				// twice, without a position.
				return nil, fmt.Errorf("config: parse %s: %w", path, err)
			}
		}
	}

	ov := newEnvOverrides()
	usable := ov.filter(environ)
	provider := env.Provider(keyDelim, env.Opt{
		Prefix:        EnvPrefix,
		EnvironFunc:   func() []string { return usable },
		TransformFunc: ov.transform,
	})
	if err := ko.Load(provider, nil); err != nil {
		return nil, fmt.Errorf("config: environment: %w", err)
	}

	cfg := Default()
	dec := decoder{}
	dec.decode("", ko.Raw(), reflect.ValueOf(cfg).Elem())
	cfg.normalize()

	// Problems with the merged content; the environment's own problems
	// (ov.problems) already name their variable.
	var problems []Problem
	for _, p := range dec.problems {
		// An override that could not be converted was not applied: what the
		// file says there is beside the point.
		if !ov.failed[p.Key] {
			problems = append(problems, p)
		}
	}
	// A key that failed to decode kept its default; checking that default
	// again would only add noise.
	decodeFailed := map[string]bool{}
	for _, p := range problems {
		decodeFailed[p.Key] = true
	}
	for _, p := range cfg.validate() {
		if !decodeFailed[p.Key] && !decodeFailed[parentKey(p.Key)] {
			problems = append(problems, p)
		}
	}
	for i := range problems {
		problems[i].Message += ov.source(problems[i].Key)
	}
	problems = append(problems, ov.problems...)
	if len(problems) > 0 {
		return cfg, newValidationError(problems)
	}
	return cfg, nil
}

// normalize canonicalises values whose case does not matter and gives
// plugins non-nil option maps.
func (c *Config) normalize() {
	c.Log.Level = strings.ToLower(c.Log.Level)
	c.Log.Format = strings.ToLower(c.Log.Format)
	for name, sum := range c.Plugins.SHA256 {
		c.Plugins.SHA256[name] = strings.ToLower(sum)
	}
	for name, ch := range c.Channels {
		if ch.Options == nil {
			ch.Options = map[string]any{}
			c.Channels[name] = ch
		}
	}
	if c.LLM != nil && c.LLM.Options == nil {
		c.LLM.Options = map[string]any{}
	}
	// Operator accounts' emails are stored lower-cased.
	for i := range c.Departments {
		for j, e := range c.Departments[i].Operators {
			c.Departments[i].Operators[j] = strings.ToLower(e)
		}
	}
	lower := make(map[string]int, len(c.Routing.OperatorMaxChats))
	for e, n := range c.Routing.OperatorMaxChats {
		lower[strings.ToLower(e)] = n
	}
	c.Routing.OperatorMaxChats = lower
}

// envOverrides turns environment variables into config keys and values, and
// remembers which variable set which key so problems can name it.
type envOverrides struct {
	vars     map[string][]string // config key -> variable names
	failed   map[string]bool     // config keys whose value did not convert
	problems []Problem
}

func newEnvOverrides() *envOverrides {
	return &envOverrides{vars: map[string][]string{}, failed: map[string]bool{}}
}

// envKey maps a variable name to its config key path:
// SWITCHBOARD_A__B_C gives ["a", "b_c"]. ok is false for variables that are
// not config keys, such as SWITCHBOARD_CONFIG.
func envKey(name string) (parts []string, ok bool) {
	rest, found := strings.CutPrefix(name, EnvPrefix)
	if !found || !strings.Contains(rest, "__") {
		return nil, false
	}
	return strings.Split(strings.ToLower(rest), "__"), true
}

// filter returns the entries of environ the env provider may load. It
// leaves out, reporting a problem for each, malformed names and variables
// that set the same key, or a key and a key inside it
// (SWITCHBOARD_LLM__OPTIONS and SWITCHBOARD_LLM__OPTIONS__HOST): the
// provider's result for those would depend on map order.
func (o *envOverrides) filter(environ []string) []string {
	var candidates []string
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		parts, ok := envKey(name)
		if !ok {
			continue
		}
		if slices.ContainsFunc(parts, func(p string) bool { return p == "" || strings.Contains(p, keyDelim) }) {
			o.problems = append(o.problems, Problem{
				Key:     name,
				Message: "malformed environment variable name: use SWITCHBOARD_<SECTION>__<KEY>, with levels separated by a double underscore",
			})
			continue
		}
		key := joinKey(parts)
		o.vars[key] = append(o.vars[key], name)
		candidates = append(candidates, kv)
	}

	bad := map[string]bool{} // config keys not to load
	keys := sortedKeys(o.vars)
	for _, k := range keys {
		if names := o.vars[k]; len(names) > 1 {
			o.problems = append(o.problems, Problem{Key: k, Message: "set by several environment variables: " + strings.Join(names, ", ")})
			bad[k] = true
		}
		for _, other := range keys {
			if strings.HasPrefix(other, k+keyDelim) {
				o.problems = append(o.problems, Problem{Key: k, Message: fmt.Sprintf(
					"environment variables %s and %s conflict: one sets a value, the other a key inside it",
					o.vars[k][0], o.vars[other][0])})
				bad[k], bad[other] = true, true
			}
		}
	}
	var out []string
	for _, kv := range candidates {
		name, _, _ := strings.Cut(kv, "=")
		if parts, _ := envKey(name); !bad[joinKey(parts)] {
			out = append(out, kv)
		}
	}
	return out
}

// transform is the env provider's TransformFunc: it maps
// SWITCHBOARD_A__B_C=v to ("a.b_c", v converted to the key's type). An empty
// key tells the provider to skip the variable.
func (o *envOverrides) transform(name, value string) (string, any) {
	parts, ok := envKey(name)
	if !ok {
		return "", nil
	}
	v, err := envValue(typeAt(reflect.TypeFor[Config](), parts), value)
	if err != nil {
		key := joinKey(parts)
		o.problems = append(o.problems, Problem{Key: key, Message: fmt.Sprintf("%v (from environment variable %s)", err, name)})
		o.failed[key] = true
		return "", nil
	}
	return strings.Join(parts, keyDelim), v
}

// joinKey formats a key path the way problems name keys.
func joinKey(parts []string) string {
	key := ""
	for _, p := range parts {
		key = childKey(key, p)
	}
	return key
}

// source names the environment variable that set key or one of its parents,
// as a suffix for a problem's message; "" when the key came from the file.
func (o *envOverrides) source(key string) string {
	for k := key; k != ""; k = parentKey(k) {
		if names, ok := o.vars[k]; ok {
			return fmt.Sprintf(" (from environment variable %s)", names[0])
		}
	}
	return ""
}

// parentKey is the key of the table or array holding key, "" at the top.
func parentKey(key string) string {
	if i := strings.LastIndexAny(key, ".["); i >= 0 {
		return key[:i]
	}
	return ""
}

// typeAt is the Go type the key path parts lead to inside t, or nil when the
// path does not name a field (the decoder then reports the unknown key).
func typeAt(t reflect.Type, parts []string) reflect.Type {
	for _, part := range parts {
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Struct:
			var next reflect.Type
			for i := range t.NumField() {
				if t.Field(i).Tag.Get("toml") == part {
					next = t.Field(i).Type
				}
			}
			if next == nil {
				return nil
			}
			t = next
		case reflect.Map:
			t = t.Elem()
		default:
			return nil
		}
		if t.Kind() == reflect.Interface {
			return t // free-form options: anything below stays a string
		}
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// envValue converts an environment value to the type of the key it sets.
// Strings are kept for strings, durations (parsed by the decoder), free-form
// options, tables (the decoder reports the type mismatch) and unknown keys.
func envValue(t reflect.Type, value string) (any, error) {
	if t == nil || t == reflect.TypeFor[time.Duration]() {
		return value, nil
	}
	switch t.Kind() {
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(value))
		if err != nil {
			return nil, fmt.Errorf("invalid boolean %q: use true or false", value)
		}
		return b, nil
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid integer %q", value)
		}
		return n, nil
	case reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return nil, fmt.Errorf("invalid number %q", value)
		}
		return f, nil
	case reflect.Slice:
		if strings.TrimSpace(value) == "" {
			return []any{}, nil
		}
		items := strings.Split(value, ",")
		out := make([]any, len(items))
		for i, item := range items {
			out[i] = strings.TrimSpace(item)
		}
		return out, nil
	}
	return value, nil
}
