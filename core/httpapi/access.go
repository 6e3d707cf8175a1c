package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-chat/switchboard/core/store"
)

// principal is who made a request: a stored API key or a static key from
// the config.
type principal struct {
	ID       string
	Name     string
	Scopes   []string
	AllowIPs []netip.Prefix
	Rate     float64
}

func (p *principal) can(scope string) bool { return slices.Contains(p.Scopes, scope) }

type principalKey struct{}

// caller is the authenticated principal and source address of a request.
type caller struct {
	principal *principal
	ip        netip.Addr
}

func callerOf(ctx context.Context) caller {
	c, _ := ctx.Value(principalKey{}).(caller)
	return c
}

// ParsePrefixes parses IP addresses and CIDRs ("10.0.0.0/8", "192.0.2.7").
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or CIDR", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

func contains(prefixes []netip.Prefix, ip netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ParseRate parses "20/s", "600/m", "1000/h" (or a plain number per second)
// into requests per second.
func ParseRate(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	num, unit, _ := strings.Cut(s, "/")
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, fmt.Errorf("rate %q: want a number of requests like 20/s", s)
	}
	switch unit {
	case "", "s":
		return n, nil
	case "m":
		return n / 60, nil
	case "h":
		return n / 3600, nil
	}
	return 0, fmt.Errorf("rate %q: the unit must be /s, /m or /h", s)
}

// access decides who may call /v1 and from where.
type access struct {
	static   []staticKey
	allow    []netip.Prefix
	trusted  []netip.Prefix
	keys     KeyLookup
	limiters sync.Map // key id → *rate.Limiter
	// failures limits failed client authentications at the token
	// endpoint.
	failures failureLimiter
}

type staticKey struct {
	hash [sha256.Size]byte
	p    *principal
}

// KeyLookup finds stored API keys and OAuth access tokens by the SHA-256
// of their secret.
type KeyLookup interface {
	APIKeyByHash(hash string) (store.APIKey, error)
	AccessTokenByHash(hash string) (store.AccessToken, store.OAuthClient, error)
}

func newAccess(cfg Config, keys KeyLookup) (*access, error) {
	a := &access{keys: keys}
	for i, k := range cfg.APIKeys {
		a.static = append(a.static, staticKey{
			hash: sha256.Sum256([]byte(k)),
			p:    &principal{ID: fmt.Sprintf("config-key-%d", i+1), Name: fmt.Sprintf("config key %d", i+1), Scopes: store.Scopes},
		})
	}
	if cfg.LocalKey != "" {
		a.static = append(a.static, staticKey{
			hash: sha256.Sum256([]byte(cfg.LocalKey)),
			p:    &principal{ID: "cli", Name: "cli", Scopes: store.Scopes},
		})
	}
	var err error
	if a.allow, err = ParsePrefixes(cfg.AllowIPs); err != nil {
		return nil, fmt.Errorf("api.allow_ips: %w", err)
	}
	if a.trusted, err = ParsePrefixes(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("api.trusted_proxies: %w", err)
	}
	return a, nil
}

// authenticate finds the principal of a bearer token: a static key, a
// stored API key, or an OAuth access token that has not expired at now.
// Static keys are compared in constant time (over their hashes, so lengths
// do not leak); stored keys and tokens are found by the hash of the token,
// which reveals nothing about other keys.
func (a *access) authenticate(token string, now time.Time) (*principal, error) {
	sum := sha256.Sum256([]byte(token))
	var found *principal
	for i := range a.static {
		if subtle.ConstantTimeCompare(sum[:], a.static[i].hash[:]) == 1 {
			found = a.static[i].p
		}
	}
	if found != nil {
		return found, nil
	}
	if a.keys == nil {
		return nil, errors.New("invalid API key")
	}
	hash := hex.EncodeToString(sum[:])
	k, err := a.keys.APIKeyByHash(hash)
	if err != nil {
		return a.authenticateToken(hash, now)
	}
	if k.RevokedAt != nil {
		return nil, errors.New("API key revoked")
	}
	return storedPrincipal(k.ID, k.Name, k.Scopes, k.AllowIPs, k.Rate)
}

// authenticateToken finds the principal of an OAuth access token: its
// client, with the token's scopes.
func (a *access) authenticateToken(hash string, now time.Time) (*principal, error) {
	t, c, err := a.keys.AccessTokenByHash(hash)
	switch {
	case err != nil:
		return nil, errors.New("invalid API key or access token")
	case !now.Before(t.ExpiresAt):
		return nil, errors.New("access token expired")
	case c.RevokedAt != nil:
		return nil, errors.New("the OAuth client of this access token was revoked")
	}
	return storedPrincipal(c.ID, clientPrincipalName(c.Name), t.Scopes, c.AllowIPs, c.Rate)
}

// storedPrincipal is the principal of a stored API key or OAuth client.
func storedPrincipal(id, name string, scopes, allowIPs []string, rate float64) (*principal, error) {
	allow, err := ParsePrefixes(allowIPs)
	if err != nil {
		return nil, fmt.Errorf("%s has an unreadable allowlist: %w", name, err)
	}
	return &principal{ID: id, Name: name, Scopes: scopes, AllowIPs: allow, Rate: rate}, nil
}

// clientIP is the request's source address. X-Forwarded-For is believed
// only when the connection comes from a trusted proxy, and then the
// right-most address that is not itself a trusted proxy is the client.
func (a *access) clientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	ip = ip.Unmap()
	if !contains(a.trusted, ip) {
		return ip
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		hop = hop.Unmap()
		if !contains(a.trusted, hop) {
			return hop
		}
		ip = hop
	}
	return ip
}

// allowed checks the global and the key's allowlists.
func (a *access) allowed(p *principal, ip netip.Addr) bool {
	if len(a.allow) > 0 && !contains(a.allow, ip) {
		return false
	}
	return len(p.AllowIPs) == 0 || contains(p.AllowIPs, ip)
}

// take spends one request of the key's rate and returns how long to wait
// when there is none left.
func (a *access) take(p *principal, now time.Time) (time.Duration, bool) {
	if p.Rate <= 0 {
		return 0, true
	}
	v, ok := a.limiters.Load(p.ID)
	if !ok {
		v, _ = a.limiters.LoadOrStore(p.ID, newLimiter(p.Rate))
	}
	r := v.(*rate.Limiter).ReserveN(now, 1)
	if wait := r.DelayFrom(now); wait > 0 {
		// Refused: give the token back, the request is not served.
		r.CancelAt(now)
		return wait, false
	}
	return 0, true
}

// newLimiter is a token bucket filling at perSecond and holding up to one
// second of requests (at least one).
func newLimiter(perSecond float64) *rate.Limiter {
	burst := 1
	if perSecond > 1 {
		burst = int(min(perSecond, math.MaxInt32))
	}
	return rate.NewLimiter(rate.Limit(perSecond), burst)
}
