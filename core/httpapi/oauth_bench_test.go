package httpapi

import (
	"testing"
)

// BenchmarkClientAuthentication compares the work of refusing an unknown
// client with that of refusing a known client's wrong secret: the two
// should cost about the same, so timing does not tell which client IDs
// exist.
func BenchmarkClientAuthentication(b *testing.B) {
	f := newOAuthFixture(b)
	id, secret := f.createClient(`{"name":"crm","scopes":["conversations:read"],"allow_ips":["10.0.0.0/8"]}`)
	for _, bb := range []struct {
		name  string
		creds credentials
	}{
		{"unknown client", credentials{id: "oc_000000000000000000000000", secret: secret}},
		{"wrong secret", credentials{id: id, secret: secret[:len(secret)-1] + "x"}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := f.s.authenticateClient(bb.creds); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}
