package sdk

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// OptionError is a bad value of one option: Configure returns it so the
// daemon can show which key to fix.
type OptionError struct {
	// Key is the option's key, as written in the config.
	Key string
	// Err says what is wrong with the value.
	Err error
}

// Error implements error.
func (e *OptionError) Error() string { return fmt.Sprintf("option %q: %v", e.Key, e.Err) }

// Unwrap returns Err.
func (e *OptionError) Unwrap() error { return e.Err }

// ErrNotHTTPURL is the cause of an [OptionError] for a value that is not a
// usable http or https URL.
var ErrNotHTTPURL = errors.New("not an http(s) URL")

// URLOption checks the value of the option key as a URL to send requests
// to: absolute, http or https, with a host and no fragment. It returns the
// value without surrounding white space; an error is an [*OptionError]
// wrapping [ErrNotHTTPURL] that names the key (and hides a password in the
// URL).
func URLOption(key, value string) (string, error) {
	if _, err := parseHTTPURL(key, value); err != nil {
		return "", err
	}
	return strings.TrimSpace(value), nil
}

// BaseURLOption checks the value of the option key like [URLOption] as the
// base URL of an API, which paths are appended to: it must not have a
// query either, and is returned without trailing slashes.
func BaseURLOption(key, value string) (string, error) {
	u, err := parseHTTPURL(key, value)
	if err != nil {
		return "", err
	}
	if u.RawQuery != "" || u.ForceQuery {
		return "", &OptionError{Key: key, Err: fmt.Errorf("%w: %q is a base URL and must not have a query", ErrNotHTTPURL, u.Redacted())}
	}
	return strings.TrimRight(strings.TrimSpace(value), "/"), nil
}

func parseHTTPURL(key, value string) (*url.URL, error) {
	value = strings.TrimSpace(value)
	u, err := url.Parse(value)
	var parseErr *url.Error
	switch {
	case errors.As(err, &parseErr):
		// Not the whole url.Error: it quotes the value, password and all.
		return nil, &OptionError{Key: key, Err: fmt.Errorf("%w: %v", ErrNotHTTPURL, parseErr.Err)}
	case err != nil:
		return nil, &OptionError{Key: key, Err: fmt.Errorf("%w: %v", ErrNotHTTPURL, err)}
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "", u.Opaque != "":
		return nil, &OptionError{Key: key, Err: fmt.Errorf("%w: %q (want one like https://example.com)", ErrNotHTTPURL, u.Redacted())}
	case u.Fragment != "" || strings.Contains(value, "#"):
		return nil, &OptionError{Key: key, Err: fmt.Errorf("%w: %q must not have a #fragment", ErrNotHTTPURL, u.Redacted())}
	}
	return u, nil
}
