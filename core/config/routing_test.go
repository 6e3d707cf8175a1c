package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

const routingExample = `
[channels.tg]
plugin = "telegram"

[[departments]]
name = "general"

[[departments]]
name = "billing"
operators = ["ana@example.com"]
languages = ["en"]
channels = ["tg"]
desk_id = "1234"

[routing]
default_department = "general"
auto_assign = true
max_chats = 4
first_response = { urgent = "1m" }

[routing.operator_max_chats]
"ana@example.com" = 6

[[routing.rules]]
name = "refunds"
match = "(?i)refund"
keywords = ["chargeback"]
tier = "gold"
department = "billing"
priority = "urgent"
tags = ["refund"]
`

func TestRoutingSection(t *testing.T) {
	cfg, err := loadString(t, routingExample)
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Routing
	if !r.AutoAssign || r.MaxChats != 4 || r.OperatorMaxChats["ana@example.com"] != 6 {
		t.Errorf("routing %+v", r)
	}
	if r.FirstResponse.Urgent != time.Minute || r.FirstResponse.Normal != Default().Routing.FirstResponse.Normal {
		t.Errorf("first response %+v: urgent set, the rest default", r.FirstResponse)
	}
	if len(cfg.Departments) != 2 || cfg.Departments[1].DeskID != "1234" {
		t.Errorf("departments %+v", cfg.Departments)
	}
	tbl := cfg.RoutingTable()
	if len(tbl.Rules) != 1 || tbl.Rules[0].Priority != conversation.PriorityUrgent || tbl.Rules[0].Match == nil || tbl.Default != "general" {
		t.Errorf("table %+v", tbl)
	}
	// Without [[departments]] the default department is the only one.
	cfg, err = loadString(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if d := cfg.DepartmentList(); len(d) != 1 || d[0].Name != "general" {
		t.Errorf("implied departments %+v", d)
	}
}

func TestRoutingValidation(t *testing.T) {
	for _, tc := range []struct {
		name, toml, key, message string
	}{
		{"unknown department key", "[[departments]]\nname = \"a\"\ndesk = \"1\"\n[routing]\ndefault_department = \"a\"\n", "departments[0].desk", "unknown key"},
		{"bad department name", "[[departments]]\nname = \"Bad Name\"\n", "departments[0].name", "invalid department name"},
		{"twice", "[[departments]]\nname = \"a\"\n[[departments]]\nname = \"a\"\n[routing]\ndefault_department = \"a\"\n", "departments[1].name", "declared twice"},
		{"bad language", "[[departments]]\nname = \"general\"\nlanguages = [\"xx\"]\n", "departments[0].languages[0]", "unknown language"},
		{"bad operator", "[[departments]]\nname = \"general\"\noperators = [\"ana\"]\n", "departments[0].operators[0]", "email"},
		{"unknown channel", "[[departments]]\nname = \"general\"\nchannels = [\"nope\"]\n", "departments[0].channels[0]", "no channel named"},
		{"default missing", "[[departments]]\nname = \"sales\"\n", "routing.default_department", `no department named "general"`},
		{"max chats", "[routing]\nmax_chats = 0\n", "routing.max_chats", "between 1 and 100"},
		{"operator max chats", "[routing.operator_max_chats]\n\"a@b.c\" = 0\n", `routing.operator_max_chats."a@b.c"`, "between 1 and 100"},
		{"negative target", "[routing.first_response]\nhigh = \"-1m\"\n", "routing.first_response.high", "must not be negative"},
		{"unknown priority key", "[routing.first_response]\ncritical = \"1m\"\n", "routing.first_response.critical", "unknown key"},
		{"rule without name", "[[routing.rules]]\nkeywords = [\"x\"]\n", "routing.rules[0].name", "must not be empty"},
		{"rule without condition", "[[routing.rules]]\nname = \"r\"\n", "routing.rules[0]", "at least one of"},
		{"bad regexp", "[[routing.rules]]\nname = \"r\"\nmatch = \"(\"\n", "routing.rules[0].match", "not a regular expression"},
		{"rule department", "[[routing.rules]]\nname = \"r\"\ntier = \"gold\"\ndepartment = \"vip\"\n", "routing.rules[0].department", `no department named "vip"`},
		{"rule priority", "[[routing.rules]]\nname = \"r\"\ntier = \"gold\"\npriority = \"asap\"\n", "routing.rules[0].priority", "unknown priority"},
		{"unknown rule key", "[[routing.rules]]\nname = \"r\"\ntier = \"gold\"\nregex = \"x\"\n", "routing.rules[0].regex", "unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadString(t, tc.toml)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
			for _, p := range ve.Problems {
				if p.Key == tc.key && strings.Contains(p.Message, tc.message) {
					return
				}
			}
			t.Errorf("no problem %s: …%s… in\n%v", tc.key, tc.message, err)
		})
	}
}
