package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// oauth-client works on the database file while no daemon runs: create
// prints the ID and the secret once, list and revoke show the client.
func TestOAuthClientCommands(t *testing.T) {
	cfgPath := writeConfig(t, t.TempDir())
	run1 := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run(append(args[:2:2], append([]string{"--config", cfgPath}, args[2:]...)...), strings.NewReader(""), &out, &errOut); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut.String())
		}
		return out.String()
	}
	created := run1("oauth-client", "create", "--name", "crm", "--scopes", "conversations:read,admin", "--allow-ip", "10.0.0.0/8", "--rate", "20/s")
	m := regexp.MustCompile(`^client_id:     (oc_\S+)\nclient_secret: (sbcs_\S+)\n\nclient (oc_\S+) \(crm\) scopes conversations:read,admin from 10\.0\.0\.0/8 at 20/s\nThe secret is shown only now`).
		FindStringSubmatch(created)
	if m == nil || m[1] != m[3] {
		t.Fatalf("create printed %q", created)
	}
	id, secret := m[1], m[2]

	list := run1("oauth-client", "list")
	if !regexp.MustCompile(`^` + id + `\tcrm\tconversations:read,admin\tallow=10\.0\.0\.0/8\trate=20/s\tcreated \d{4}-\d\d-\d\dT\S+\tactive\n$`).MatchString(list) {
		t.Fatalf("list printed %q", list)
	}
	if strings.Contains(list, secret) {
		t.Fatal("list shows the secret")
	}
	if out := run1("oauth-client", "revoke", "crm"); out != "revoked "+id+" (crm); its access tokens no longer work\n" {
		t.Fatalf("revoke printed %q", out)
	}
	if list := run1("oauth-client", "list"); !strings.Contains(list, "\trevoked ") {
		t.Fatalf("list after revoke %q", list)
	}

	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"oauth-client"}, 2, "usage: switchboard oauth-client create|list|revoke"},
		{[]string{"oauth-client", "rotate", "--config", cfgPath}, 2, `unknown command "rotate"`},
		{[]string{"oauth-client", "revoke", "--config", cfgPath}, 2, "usage: switchboard oauth-client revoke"},
		{[]string{"oauth-client", "revoke", "--config", cfgPath, "nope"}, 1, `no OAuth client "nope"`},
		{[]string{"oauth-client", "create", "--config", cfgPath, "--name", "x", "--scopes", "root"}, 1, `unknown scope "root"`},
	} {
		var out, errOut bytes.Buffer
		if code := run(tt.args, strings.NewReader(""), &out, &errOut); code != tt.code || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("%v: exit %d %q, want %d and %q", tt.args, code, errOut.String(), tt.code, tt.want)
		}
	}
}
