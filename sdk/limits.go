package sdk

import (
	"os"
	"strconv"

	"google.golang.org/grpc"
)

// MessageLimitEnv is the environment variable through which the daemon
// tells a plugin process the largest gRPC message, in bytes, either side
// may send. [Serve] reads it; plugins need not.
const MessageLimitEnv = "SWITCHBOARD_PLUGIN_MESSAGE_LIMIT"

// MessageFraming is the room a plugin message has beyond the largest
// request body the daemon accepts: the request's headers (at most 1 MiB in
// the daemon's HTTP server), its path and query, and the message's own
// fields.
const MessageFraming = 2 << 20

// DefaultMessageLimit is gRPC's own limit on a received message, used when
// the daemon gives none.
const DefaultMessageLimit = 4 << 20

// MessageLimit is the largest plugin message, in bytes, for a daemon that
// accepts request bodies of up to maxBody bytes: a webhook that was let in
// always fits in the call that hands it to its plugin.
func MessageLimit(maxBody int64) int {
	return int(maxBody) + MessageFraming
}

// messageLimitFromEnv is the limit the daemon gave in the environment, or
// DefaultMessageLimit.
func messageLimitFromEnv() int {
	n, err := strconv.Atoi(os.Getenv(MessageLimitEnv))
	if err != nil || n <= 0 {
		return DefaultMessageLimit
	}
	return n
}

// serverMessageLimit are the gRPC server options of a plugin process that
// receives and sends messages of up to limit bytes.
func serverMessageLimit(limit int) []grpc.ServerOption {
	return []grpc.ServerOption{grpc.MaxRecvMsgSize(limit), grpc.MaxSendMsgSize(limit)}
}

// ClientMessageLimit is the gRPC dial option of the daemon's side of a
// plugin connection that receives and sends messages of up to limit bytes.
func ClientMessageLimit(limit int) grpc.DialOption {
	return grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(limit), grpc.MaxCallSendMsgSize(limit))
}
