package pluginhost

import (
	"errors"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/sdk"
)

// While a plugin is not running, every way of reaching it fails with an
// error errors.Is recognises as sdk.ErrPluginUnavailable: callers never
// need to read the message.
func TestNotRunningPluginIsUnavailable(t *testing.T) {
	h := New(Config{}, logrus.New())
	for _, spec := range []Spec{
		{Instance: "demo", Plugin: "echo", Kind: sdk.KindChannel},
		{Instance: LLMInstance, Plugin: "ollama", Kind: sdk.KindLLM},
	} {
		h.instances[spec.Instance] = &Instance{spec: spec, host: h, state: StateRestarting}
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"channel", func() error {
			_, ok, err := h.Channel("demo")
			if !ok {
				t.Fatal("no channel demo")
			}
			return err
		}},
		{"llm", func() error { _, err := h.LLM(); return err }},
		{"ping", func() error { return h.Instance("demo").Ping() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, sdk.ErrPluginUnavailable) {
				t.Fatalf("errors.Is(%v, sdk.ErrPluginUnavailable) is false", err)
			}
		})
	}
}

// An instance whose process is gone is not reported up, even before its
// supervisor has decided what comes next: /readyz must not call a plugin
// without a process ready.
func TestAKilledInstanceIsNotUp(t *testing.T) {
	h := New(Config{}, logrus.New())
	i := &Instance{spec: Spec{Instance: "demo", Plugin: "echo", Kind: sdk.KindChannel}, host: h, state: StateUp, pid: 4242}
	i.kill()
	if st := i.Status(); st.State == StateUp || st.PID != 0 {
		t.Fatalf("after the process is gone: %+v", st)
	}
}
