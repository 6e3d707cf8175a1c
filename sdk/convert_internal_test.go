package sdk

import (
	"encoding/hex"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/switchboard-chat/switchboard/sdk/internal/pb"
)

func TestStatusWithoutDetailGetsAKind(t *testing.T) {
	tests := []struct {
		code codes.Code
		want ErrorKind
	}{
		{codes.Unimplemented, Permanent}, // e.g. a desk call to a plugin built before desks were a service
		{codes.DeadlineExceeded, Timeout},
		{codes.Unavailable, Temporary},
		{codes.Canceled, Temporary},
		{codes.Internal, Temporary},
		{codes.ResourceExhausted, Permanent}, // a message over the connection's size limit
	}
	for _, tt := range tests {
		t.Run(tt.code.String(), func(t *testing.T) {
			err := errorFromStatus(status.Error(tt.code, "x"))
			if got := KindOf(err); got != tt.want {
				t.Errorf("%s: kind %s, want %s", tt.code, got, tt.want)
			}
		})
	}
}

// Headers were first a map<string, HeaderValues> field; these are the
// bytes a peer built then sent (map keys in order), for a webhook and its
// answer.
const (
	mapHeadersRequest  = "0a04504f5354120c2f776562686f6f6b732f746722100a0641636365707412060a01610a016222220a0c436f6e74656e742d5479706512120a106170706c69636174696f6e2f6a736f6e222b0a1f582d54656c656772616d2d426f742d4170692d5365637265742d546f6b656e12080a067333637265742a027b7d"
	mapHeadersResponse = "08c801121c0a0c436f6e74656e742d54797065120c0a0a746578742f706c61696e1a026f6b"
)

// TestHeadersReadAsTheMapTheyWere: the list of headers and the map it
// replaced are the same bytes, both ways, so daemons and plugins built
// before and after read each other.
func TestHeadersReadAsTheMapTheyWere(t *testing.T) {
	want := http.Header{
		"Accept": {"a", "b"}, "Content-Type": {"application/json"}, "X-Telegram-Bot-Api-Secret-Token": {"s3cret"},
	}
	old, _ := hex.DecodeString(mapHeadersRequest)
	var req pb.WebhookRequest
	if err := proto.Unmarshal(old, &req); err != nil {
		t.Fatal(err)
	}
	if got := headerFromPB(req.GetHeaders()); !reflect.DeepEqual(got, want) || req.GetPath() != "/webhooks/tg" || string(req.GetBody()) != "{}" {
		t.Errorf("the old request read as %v %q %q", got, req.GetPath(), req.GetBody())
	}
	// Written in the map's order, the same bytes.
	hs := headerToPB(want)
	slices.SortFunc(hs, func(a, b *pb.Header) int { return strings.Compare(a.GetName(), b.GetName()) })
	data, err := proto.Marshal(&pb.WebhookRequest{Method: "POST", Path: "/webhooks/tg", Headers: hs, Body: []byte("{}")})
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(data); got != mapHeadersRequest {
		t.Errorf("request bytes\n%s, the map wrote\n%s", got, mapHeadersRequest)
	}

	old, _ = hex.DecodeString(mapHeadersResponse)
	var resp pb.WebhookResponse
	if err := proto.Unmarshal(old, &resp); err != nil {
		t.Fatal(err)
	}
	if got := headerFromPB(resp.GetHeaders()); !reflect.DeepEqual(got, http.Header{"Content-Type": {"text/plain"}}) || resp.GetStatus() != 200 {
		t.Errorf("the old response read as %v %d", got, resp.GetStatus())
	}
	data, _ = proto.Marshal(&pb.WebhookResponse{Status: 200, Headers: headerToPB(http.Header{"Content-Type": {"text/plain"}}), Body: []byte("ok")})
	if got := hex.EncodeToString(data); got != mapHeadersResponse {
		t.Errorf("response bytes\n%s, the map wrote\n%s", got, mapHeadersResponse)
	}

	// A name given twice, which no map sends: the last counts, as in a map;
	// names are read canonical.
	twice := []*pb.Header{{Name: "x-a", Values: &pb.HeaderValues{Values: []string{"1"}}}, {Name: "X-A", Values: &pb.HeaderValues{Values: []string{"2"}}}}
	if got := headerFromPB(twice); !reflect.DeepEqual(got, http.Header{"X-A": {"2"}}) {
		t.Errorf("a name twice: %v", got)
	}
	if headerToPB(nil) != nil {
		t.Error("no headers make a list")
	}
}
