package sdk

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/switchboard-chat/switchboard/sdk/internal/pb"
)

// echoHook answers a webhook with one event, as a small channel plugin does.
type echoHook struct{ Channel }

func (echoHook) HandleWebhook(_ context.Context, req WebhookRequest) (WebhookResponse, error) {
	return WebhookResponse{Status: 200, Body: []byte(`{"ok":true}`), Events: []Event{{ID: req.Path, Kind: KindMessage, Conversation: "c", Text: string(req.Body)}}}, nil
}

// BenchmarkWebhookHop compares a webhook sent on the Webhooks stream with
// one sent as a HandleWebhook call, over what go-plugin gives a plugin: a
// local socket with mutual TLS. Callers run in parallel, as a flood's
// webhooks do; cpu-us/op is the CPU of both ends (one process here).
func BenchmarkWebhookHop(b *testing.B) {
	serverCreds, clientCreds := benchTLS(b)
	sock := filepath.Join(b.TempDir(), "plugin.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	srv := newGRPCServer([]grpc.ServerOption{grpc.Creds(serverCreds)})
	pb.RegisterChannelServer(srv, &channelServer{impl: echoHook{}})
	go srv.Serve(lis)
	defer srv.Stop()
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(clientCreds))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	req := WebhookRequest{
		Method: "POST", Path: "/webhooks/tg",
		Header:     http.Header{"Content-Type": {"application/json"}, "X-Telegram-Bot-Api-Secret-Token": {"secret"}},
		Body:       []byte(`{"update_id":12345,"message":{"message_id":7,"from":{"id":42,"first_name":"Ann"},"chat":{"id":42,"type":"private"},"date":1700000000,"text":"hello, a question about my order"}}`),
		RemoteAddr: "127.0.0.1:1",
	}
	for _, mode := range []string{"stream", "call"} {
		b.Run(mode, func(b *testing.B) {
			p := &ChannelPlugin{}
			c, _ := p.GRPCClient(context.Background(), nil, conn)
			client := c.(*ChannelClient)
			client.webhooks.unsupported = mode == "call"
			b.SetParallelism(32) // 64 callers on two cores
			start := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := client.HandleWebhook(context.Background(), req); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-us/op")
		})
	}
}

// cpuTime is the CPU the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchTLS is a mutual-TLS pair like go-plugin's: one self-signed
// certificate each end trusts.
func benchTLS(b *testing.B) (server, client credentials.TransportCredentials) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		b.Fatal(err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		b.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(parsed)
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	server = credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool, MinVersion: tls.VersionTLS12})
	client = credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12})
	return server, client
}
