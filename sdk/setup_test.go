package sdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

// setupRecorder is a plugin with a setup step that records its request.
type setupRecorder struct {
	got SetupRequest
	err error
}

func (s *setupRecorder) Setup(_ context.Context, req SetupRequest, out io.Writer) error {
	s.got = req
	fmt.Fprintln(out, "set up", req.Instance)
	return s.err
}

// A plugin binary run for its setup step gets the request the command
// encoded, and its result becomes the exit status.
func TestSetupStep(t *testing.T) {
	opts, err := NewOptions(map[string]any{"screen_name": "acme", "department_id": int64(11209000000002024), "keys": []any{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	req := SetupRequest{Instance: "siq", Options: opts, Args: []string{"--public-url", "https://bot.example.com"}}
	encoded, err := EncodeSetupRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		impl     any
		in       []byte
		code     int
		out, err string
	}{
		{"done", &setupRecorder{}, encoded, 0, "set up siq\n", ""},
		{"failed", &setupRecorder{err: errors.New("register the webhook: 401")}, encoded, 1, "set up siq\n", "register the webhook: 401\n"},
		{"bad command line", &setupRecorder{err: fmt.Errorf("%w: --public-url is required", ErrSetupUsage)}, encoded, 2, "set up siq\n", "usage: --public-url is required\n"},
		{"no setup step", struct{}{}, encoded, 2, "", "this plugin has no setup step\n"},
		{"malformed request", &setupRecorder{}, []byte(`{"instance":"siq","extra":1}`), 2, "", "setup: read the setup request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := runSetup(context.Background(), bytes.NewReader(tt.in), &out, &errOut, nil, tt.impl)
			if code != tt.code || out.String() != tt.out || !strings.HasPrefix(errOut.String(), tt.err) || (tt.err == "") != (errOut.Len() == 0) {
				t.Fatalf("exit %d, out %q, err %q; want %d, %q, %q", code, out.String(), errOut.String(), tt.code, tt.out, tt.err)
			}
			rec, ok := tt.impl.(*setupRecorder)
			if !ok || tt.code != 0 {
				return
			}
			if rec.got.Instance != req.Instance || !reflect.DeepEqual(rec.got.Args, req.Args) || !bytes.Equal(rec.got.Options.JSON(), opts.JSON()) {
				t.Errorf("got %+v (options %s), want %+v (options %s)", rec.got, rec.got.Options.JSON(), req, opts.JSON())
			}
		})
	}
}
