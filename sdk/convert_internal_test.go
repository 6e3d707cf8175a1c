package sdk

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
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
