package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/sdk"
)

// serveBareHTTP is the child process of the bare_http baseline: a net/http
// handler that reads the body and answers 200, nothing else. With a
// platform URL it is the plugin_http baseline instead: the handler also
// hands each request to the real telegram plugin, as the daemon does, and
// answers with the plugin's answer, but stores nothing. It prints its
// address and serves until killed.
func serveBareHTTP(apiBase string) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	})
	if apiBase != "" {
		_, ch := telegramHost(apiBase)
		handler = func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			resp, err := ch.HandleWebhook(r.Context(), sdk.WebhookRequest{
				Method: r.Method, Path: r.URL.Path, Header: r.Header, Body: body, RemoteAddr: r.RemoteAddr,
			})
			if err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(max(resp.Status, http.StatusOK))
			w.Write(resp.Body)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatalf("%v", err)
	}
	fmt.Println(ln.Addr().String())
	srv := &http.Server{Handler: handler, IdleTimeout: 2 * time.Minute}
	go exitWithParent()
	srv.Serve(ln)
}

func exitWithParent() {
	parent := os.Getppid()
	for range time.Tick(500 * time.Millisecond) {
		if os.Getppid() != parent {
			os.Exit(0)
		}
	}
}

// startBareHTTP runs serveBareHTTP in a child process (like the daemon, a
// process of its own) and returns its URL, a stop function and the
// child's pid. apiBase selects the plugin_http baseline.
func startBareHTTP(apiBase string) (string, func(), int) {
	self, err := os.Executable()
	if err != nil {
		fatalf("%v", err)
	}
	cmd := exec.Command(self, "serve-bare-http", "-bin", *binDir, apiBase)
	out, err := cmd.StdoutPipe()
	if err != nil {
		fatalf("%v", err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		fatalf("start bare http: %v", err)
	}
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		fatalf("bare http: %v", err)
	}
	return "http://" + addr[:len(addr)-1], func() { cmd.Process.Kill(); cmd.Wait() }, cmd.Process.Pid
}

// bareCommit is the bare_commit baseline: conns goroutines hand events to
// one writer goroutine, which drains its channel and commits each batch in
// one fsync'd bbolt transaction. It returns events committed per second.
func bareCommit(dir string, conns int, warm, dur time.Duration, maxReq int64, body func(n int64) []byte) loadResult {
	db, err := bolt.Open(filepath.Join(dir, "bare.db"), 0o600, &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		fatalf("%v", err)
	}
	defer db.Close()
	bucket := []byte("events")
	db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(bucket); return err })
	type op struct {
		key, val []byte
		done     chan error
	}
	ops := make(chan *op, 4*512)
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		batch := make([]*op, 0, 512)
		for {
			select {
			case first := <-ops:
				batch = append(batch[:0], first)
			case <-stop:
				return
			}
		drain:
			for len(batch) < 512 {
				select {
				case o := <-ops:
					batch = append(batch, o)
				default:
					break drain
				}
			}
			err := db.Update(func(tx *bolt.Tx) error {
				b := tx.Bucket(bucket)
				for _, o := range batch {
					if err := b.Put(o.key, o.val); err != nil {
						return err
					}
				}
				return nil
			})
			for _, o := range batch {
				o.done <- err
			}
		}
	}()
	var issued, ok atomic.Int64
	start := time.Now()
	from, until := start.Add(warm), start.Add(warm+dur)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := make(chan error, 1)
			for time.Now().Before(until) {
				n := issued.Add(1)
				if n > maxReq {
					return
				}
				ops <- &op{key: strconv.AppendInt(nil, n, 10), val: body(n), done: done}
				err := <-done
				if end := time.Now(); err == nil && end.After(from) && end.Before(until) {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-writerDone
	elapsed := min(time.Since(from), dur)
	return loadResult{ok: ok.Load(), perSec: float64(ok.Load()) / elapsed.Seconds()}
}
