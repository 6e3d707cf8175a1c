package main

import (
	"strconv"

	"github.com/google/uuid"
)

// retryKeyNamespace is the UUID namespace of this plugin's retry keys.
var retryKeyNamespace = uuid.MustParse("6b1f4e2a-930c-4d57-a861-3ed2459b70c4")

// retryKey is the X-Line-Retry-Key of push call number part (0-based) of
// the outbound message id: a name-based UUID (version 5, RFC 9562) of
// "<id>#<part>". It depends on nothing else, so every retry of the same
// message, also after a restart of the plugin or the daemon, sends the same
// key and LINE delivers each call at most once.
func retryKey(id string, part int) string {
	return uuid.NewSHA1(retryKeyNamespace, []byte(id+"#"+strconv.Itoa(part))).String()
}
