package integration

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// tokenAnswer is the token endpoint's answer as RFC 6749 §5.1 and §5.2
// define it.
type tokenAnswer struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`
	Scope            string `json:"scope"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// requestToken does what `curl -u ID:SECRET -d grant_type=client_credentials
// URL/oauth/token` does.
func requestToken(t *testing.T, base, id, secret string) (int, http.Header, tokenAnswer) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	creds := url.QueryEscape(id) + ":" + url.QueryEscape(secret)
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(creds)))
	resp, err := checkedClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var ans tokenAnswer
	if err := json.Unmarshal(data, &ans); err != nil {
		t.Fatalf("token answer %q: %v", data, err)
	}
	return resp.StatusCode, resp.Header, ans
}

// An OAuth client made with the command line gets a token over HTTP and
// calls /v1 with it, within its scope; the token survives a restart and
// dies with its client.
func TestOAuthClientCredentials(t *testing.T) {
	d := startDaemon(t, "[oauth]\ntoken_ttl = \"10m\"\n")

	out, code := d.cli(withConfig(d, "oauth-client", "create", "--name", "crm", "--scopes", "conversations:read")...)
	m := regexp.MustCompile(`client_id:\s+(\S+)\nclient_secret:\s+(\S+)`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("oauth-client create: %d\n%s", code, out)
	}
	id, secret := m[1], m[2]

	status, header, tok := requestToken(t, d.URL, id, secret)
	if status != 200 || tok.TokenType != "Bearer" || tok.ExpiresIn != 600 || tok.Scope != "conversations:read" || tok.AccessToken == "" {
		t.Fatalf("token: %d %+v", status, tok)
	}
	if header.Get("Cache-Control") != "no-store" || header.Get("Pragma") != "no-cache" {
		t.Errorf("token answer headers %v", header)
	}
	if got := getWithKey(t, d.URL+"/v1/conversations", tok.AccessToken); got != 200 {
		t.Fatalf("read with the token: %d", got)
	}
	if got := getWithKey(t, d.URL+"/v1/admin/audit", tok.AccessToken); got != 403 {
		t.Fatalf("admin route with a read token: %d", got)
	}
	if status, header, ans := requestToken(t, d.URL, id, secret+"x"); status != 401 || ans.Error != "invalid_client" || !strings.HasPrefix(header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("wrong secret: %d %v %+v", status, header, ans)
	}

	d.stop()
	raw, _ := os.ReadFile(filepath.Join(d.dir, "data", "switchboard.db"))
	for _, s := range []string{secret, tok.AccessToken} {
		if strings.Contains(string(raw), s) {
			t.Fatal("the database file contains a client secret or an access token")
		}
	}
	d.start()
	if got := getWithKey(t, d.URL+"/v1/conversations", tok.AccessToken); got != 200 {
		t.Fatalf("token after a restart: %d", got)
	}

	if out, code := d.cli(withConfig(d, "oauth-client", "revoke", "crm")...); code != 0 {
		t.Fatalf("revoke: %d\n%s", code, out)
	}
	if got := getWithKey(t, d.URL+"/v1/conversations", tok.AccessToken); got != 401 {
		t.Fatalf("token after the revoke: %d", got)
	}
	if status, _, ans := requestToken(t, d.URL, id, secret); status != 401 || ans.Error != "invalid_client" {
		t.Fatalf("new token after the revoke: %d %+v", status, ans)
	}
	out, _ = d.cli(withConfig(d, "audit", "verify")...)
	if !strings.Contains(out, "audit log intact") {
		t.Fatalf("audit verify: %s", out)
	}
}
