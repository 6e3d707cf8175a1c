package main

import (
	"crypto/sha1"
	"fmt"
	"strconv"
)

// retryKeyNamespace is the UUID namespace of this plugin's retry keys.
var retryKeyNamespace = [16]byte{0x6b, 0x1f, 0x4e, 0x2a, 0x93, 0x0c, 0x4d, 0x57, 0xa8, 0x61, 0x3e, 0xd2, 0x45, 0x9b, 0x70, 0xc4}

// retryKey is the X-Line-Retry-Key of push call number part (0-based) of
// the outbound message id: a name-based UUID (version 5, RFC 9562) of
// "<id>#<part>". It depends on nothing else, so every retry of the same
// message, also after a restart of the plugin or the daemon, sends the same
// key and LINE delivers each call at most once.
func retryKey(id string, part int) string {
	h := sha1.New()
	h.Write(retryKeyNamespace[:])
	h.Write([]byte(id + "#" + strconv.Itoa(part)))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
