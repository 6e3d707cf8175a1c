package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-chat/switchboard/core/pluginhost"
	"github.com/switchboard-chat/switchboard/sdk"
)

// floorSpec is what the child process of a baseline hands each request
// to. The zero spec is the bare_http baseline: a net/http handler that
// reads the body and answers 200, nothing else. With a channel plugin it
// is a plugin floor: the handler hands each request to the real plugin,
// as the daemon does, and answers with the plugin's answer; with a model
// too, it also runs each message the plugin parsed through the real model
// plugin and sends the answer back through the channel plugin before it
// answers. Nothing is stored: it is what the plugin calls of a message
// cost with no store, engine or queue around them.
type floorSpec struct {
	// Plugin is the channel plugin's name ("": the bare handler).
	Plugin string `json:"plugin,omitempty"`
	// Options are the channel plugin's options.
	Options map[string]any `json:"options,omitempty"`
	// Model is the Ollama URL of the model plugin ("": no model).
	Model string `json:"model,omitempty"`
}

// serveBareHTTP is the child process of a baseline (see floorSpec). It
// prints its address and serves until killed.
func serveBareHTTP(spec floorSpec) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	})
	if spec.Plugin != "" {
		handler = pluginFloor(spec)
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

// pluginFloor is the handler of a plugin floor (see floorSpec).
func pluginFloor(spec floorSpec) http.HandlerFunc {
	specs := []pluginhost.Spec{{Instance: "ch", Plugin: spec.Plugin, Kind: sdk.KindChannel, Options: spec.Options}}
	if spec.Model != "" {
		specs = append(specs, pluginhost.Spec{Instance: pluginhost.LLMInstance, Plugin: "ollama", Kind: sdk.KindLLM,
			Options: modelOptions(spec.Model)})
	}
	host := startPlugins(specs)
	ch, _, err := host.Channel("ch")
	if err != nil {
		fatalf("%s plugin: %v", spec.Plugin, err)
	}
	var llm sdk.LLM
	if spec.Model != "" {
		if llm, err = host.LLM(); err != nil {
			fatalf("model plugin: %v", err)
		}
	}
	var sends atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		resp, err := ch.HandleWebhook(ctx, sdk.WebhookRequest{
			Method: r.Method, Path: r.URL.Path, Header: r.Header, Body: body, RemoteAddr: r.RemoteAddr,
		})
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if llm != nil {
			for _, ev := range resp.Events {
				if ev.Kind != sdk.KindMessage {
					continue
				}
				var answer strings.Builder
				err := llm.Chat(ctx, sdk.ChatRequest{Messages: []sdk.ChatMessage{{Role: sdk.RoleUser, Content: ev.Text}}},
					sdk.ChatStreamFunc(func(c sdk.ChatChunk) error { answer.WriteString(c.Text); return nil }))
				if err == nil {
					_, err = ch.Send(ctx, sdk.Outbound{ID: "floor-" + strconv.FormatInt(sends.Add(1), 10), Kind: sdk.OutText,
						Conversation: ev.Conversation, User: ev.User, Text: answer.String(), Role: "bot", Context: ev.Context})
				}
				if err != nil {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
			}
		}
		w.WriteHeader(max(resp.Status, http.StatusOK))
		w.Write(resp.Body)
	}
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
// process of its own) and returns its URL, a stop function and the pids
// of the child and the plugin processes it started.
func startBareHTTP(spec floorSpec) (string, func(), []int) {
	self, err := os.Executable()
	if err != nil {
		fatalf("%v", err)
	}
	arg, err := json.Marshal(spec)
	if err != nil {
		fatalf("%v", err)
	}
	cmd := exec.Command(self, "serve-bare-http", "-bin", *binDir, string(arg))
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
	pids := append([]int{cmd.Process.Pid}, children(cmd.Process.Pid)...)
	return "http://" + addr[:len(addr)-1], func() { cmd.Process.Kill(); cmd.Wait() }, pids
}

// children returns the pids of the processes whose parent is pid.
func children(pid int) []int {
	var out []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		child, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		// The fields after the command name, which is in parentheses:
		// state, then the parent's pid.
		f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
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
