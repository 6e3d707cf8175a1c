package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// webchatSection turns the web chat on without its per-visitor and
// per-address limits: every widget of the load comes from 127.0.0.1.
const webchatSection = `
[webchat]
enabled = true
rate_per_visitor = 0
rate_per_address = 0

[handoff]
desk = "console"
`

// pushResult is the web chat's push path under load.
type pushResult struct {
	latencies []time.Duration // message sent → its event on the widget's stream
	// opLatencies are message sent → its event on each operator's stream.
	opLatencies []time.Duration
	operators   int
	// acks are message sent → its 202, which the daemon answers once the
	// message is committed: the part of the latency before the streams.
	acks    []time.Duration
	sent    int
	failed  int64
	streams int
	// rssKB and anonKB are the daemon's resident memory before and after
	// the streams connected and went idle.
	rssBefore, rssIdle, anonBefore, anonIdle int
	// cores is the CPU the daemon and its plugins used while the messages
	// were sent, in cores.
	cores float64
}

// widget is one visitor's chat: its token and its open event stream.
type widget struct {
	token string
	// arrived records when the stream showed each of the visitor's
	// messages, by client_id.
	mu      sync.Mutex
	arrived map[string]time.Time
	ready   chan struct{} // the stream delivered its first state
}

// webchatPush connects `streams` widgets to the daemon's event stream,
// measures the daemon's memory with them idle, signs in `operators`
// operators with the console's event stream open, then sends rate
// messages a second for dur (open loop, each from the next widget in turn)
// and records when each message was answered 202, and reached its
// widget's stream and every operator's.
func webchatPush(d *daemon, streams, operators int, rate float64, dur time.Duration) pushResult {
	res := pushResult{streams: streams, operators: operators}
	api := newClient(256)
	defer api.CloseIdleConnections()
	widgets := make([]*widget, streams)
	for i := range widgets {
		w, err := newWidget(api, d.URL)
		if err != nil {
			fatalf("web chat session %d: %v", i, err)
		}
		widgets[i] = w
	}
	pid := d.Pid()
	settle()
	before := readMem(pid)
	res.rssBefore, res.anonBefore = before.rss, before.anon

	// One keep-alive connection per stream, like one browser each.
	streamClient := &http.Client{Transport: &http.Transport{
		MaxConnsPerHost: streams + 1, MaxIdleConnsPerHost: streams + 1, DisableCompression: true,
	}}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, w := range widgets {
		wg.Add(1)
		go func() { defer wg.Done(); w.listen(ctx, streamClient, d.URL) }()
	}
	for i, w := range widgets {
		select {
		case <-w.ready:
		case <-time.After(60 * time.Second):
			fatalf("web chat stream %d did not start", i)
		}
	}
	settle()
	idle := readMem(pid)
	res.rssIdle, res.anonIdle = idle.rss, idle.anon

	// Operators watching the console: one event stream each, carrying
	// every conversation's messages and changes.
	ops := make([]*operator, operators)
	for i := range ops {
		ops[i] = signIn(d, i)
		wg.Add(1)
		go func() { defer wg.Done(); ops[i].listen(ctx, d.URL) }()
	}
	for i, o := range ops {
		select {
		case <-o.ready:
		case <-time.After(60 * time.Second):
			fatalf("operator stream %d did not start", i)
		}
	}

	n := int(rate * dur.Seconds())
	res.sent = n
	cpuFrom, clockFrom := cpuTime(d.pids()), time.Now()
	sentAt := make([]time.Time, n)
	acked := make([]time.Time, n) // when its 202 (after the commit) came back
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	var fails atomic.Int64
	var posts sync.WaitGroup
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		sentAt[i] = at
		posts.Add(1)
		go func() {
			defer posts.Done()
			if !widgets[i%streams].send(api, d.URL, "b"+strconv.Itoa(i), "hello from widget "+strconv.Itoa(i)) {
				fails.Add(1)
				return
			}
			acked[i] = time.Now()
		}()
	}
	posts.Wait()
	res.cores = (cpuTime(d.pids()) - cpuFrom).Seconds() / time.Since(clockFrom).Seconds()
	for i := range n {
		if !acked[i].IsZero() {
			res.acks = append(res.acks, acked[i].Sub(sentAt[i]))
		}
	}
	sortDurations(res.acks)
	res.failed = fails.Load()
	deadline := time.Now().Add(15 * time.Second)
	for {
		res.latencies = res.latencies[:0]
		for i := range n {
			if at, ok := widgets[i%streams].arrival("b" + strconv.Itoa(i)); ok {
				res.latencies = append(res.latencies, at.Sub(sentAt[i]))
			}
		}
		res.opLatencies = res.opLatencies[:0]
		for _, o := range ops {
			for i := range n {
				if at, ok := o.arrival(i); ok {
					res.opLatencies = append(res.opLatencies, at.Sub(sentAt[i]))
				}
			}
		}
		if (len(res.latencies) == n && len(res.opLatencies) == n*operators) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	wg.Wait()
	streamClient.CloseIdleConnections()
	sortDurations(res.latencies)
	sortDurations(res.opLatencies)
	return res
}

// operator is one operator's console: a signed-in session and its event
// stream, connecting from an address of its own (127.0.0.x), as operators
// do from their own machines.
type operator struct {
	client *http.Client
	// arrived records when the stream showed each message of the load, by
	// its number.
	mu      sync.Mutex
	arrived map[int]time.Time
	ready   chan struct{} // the stream delivered its first event
}

// operatorCredentials are the email and password of operator i.
func operatorCredentials(i int) (email, password string) {
	return fmt.Sprintf("operator%d@bench.example", i), "bench password " + strconv.Itoa(i)
}

// addOperators adds n operator accounts with the CLI, before the daemon
// starts (while it runs, the CLI needs an admin key).
func addOperators(d *daemon, n int) {
	for i := range n {
		email, password := operatorCredentials(i)
		cmd := exec.Command(filepath.Join(*binDir, "switchboard"), "operator", "add", "--config", d.ConfigPath,
			"--email", email, "--name", fmt.Sprintf("Operator %d", i), "--role", "agent", "--password-stdin")
		cmd.Stdin = strings.NewReader(password + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			fatalf("operator add: %v\n%s", err, out)
		}
	}
}

// signIn signs operator i (added by addOperators) in to the console.
func signIn(d *daemon, i int) *operator {
	email, password := operatorCredentials(i)
	jar, _ := cookiejar.New(nil)
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(10+i))}
	o := &operator{
		client: &http.Client{Jar: jar, Transport: &http.Transport{
			DialContext:        (&net.Dialer{LocalAddr: local}).DialContext,
			DisableCompression: true,
		}},
		arrived: map[int]time.Time{},
		ready:   make(chan struct{}),
	}
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	resp, err := o.client.Post(d.URL+"/op/v1/login", "application/json", bytes.NewReader(body))
	if err != nil {
		fatalf("operator sign-in: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fatalf("operator sign-in: status %d", resp.StatusCode)
	}
	return o
}

// listen reads the operator's event stream until ctx ends, noting when
// each message of the load arrives.
func (o *operator) listen(ctx context.Context, base string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/op/v1/events", nil)
	resp, err := o.client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			fatalf("operator stream: %v", err)
		}
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fatalf("operator stream: status %d", resp.StatusCode)
	}
	r := bufio.NewReader(resp.Body)
	started := false
	message := false
	prefix := []byte(`"text":"hello from widget `)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		now := time.Now()
		if bytes.HasPrefix(line, []byte("event: ")) {
			if !started {
				started = true
				close(o.ready)
			}
			message = bytes.HasPrefix(line, []byte("event: message"))
			continue
		}
		i := bytes.Index(line, prefix)
		if !message || !bytes.HasPrefix(line, []byte("data: ")) || i < 0 {
			continue
		}
		rest := line[i+len(prefix):]
		if j := bytes.IndexByte(rest, '"'); j > 0 {
			if n, err := strconv.Atoi(string(rest[:j])); err == nil {
				o.mu.Lock()
				if _, seen := o.arrived[n]; !seen {
					o.arrived[n] = now
				}
				o.mu.Unlock()
			}
		}
	}
}

func (o *operator) arrival(n int) (time.Time, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	t, ok := o.arrived[n]
	return t, ok
}

// fsyncTimes writes and fdatasyncs one 4 KiB page n times in dir: a
// gauge of what one durable commit costs on the machine at that moment,
// taken beside the web chat's figures (each posted message is one).
func fsyncTimes(dir string, n int) []time.Duration {
	f, err := os.CreateTemp(dir, "fsync-")
	if err != nil {
		fatalf("%v", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	page := make([]byte, 4096)
	out := make([]time.Duration, 0, n)
	for i := range n {
		start := time.Now()
		if _, err := f.WriteAt(page, int64(i%16)*4096); err != nil {
			fatalf("%v", err)
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			fatalf("%v", err)
		}
		out = append(out, time.Since(start))
	}
	return sortDurations(out)
}

// cpuTime is the user and system CPU time the processes used so far, from
// /proc/<pid>/stat.
func cpuTime(pids []int) time.Duration {
	var ticks int64
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// The fields after the command name, which is in parentheses.
		f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			ticks += u + s
		}
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat's
// times: 100 on Linux.
const clockTicks = 100

// settle lets the daemon finish what connecting caused before its memory
// is read.
func settle() { time.Sleep(2 * time.Second) }

func newWidget(c *http.Client, base string) (*widget, error) {
	resp, err := c.Post(base+"/w/v1/session", "application/json", bytes.NewReader([]byte(`{}`)))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var s struct {
		Token string `json:"visitor_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != 200 {
		return nil, fmt.Errorf("status %d: %v", resp.StatusCode, err)
	}
	return &widget{token: s.Token, arrived: map[string]time.Time{}, ready: make(chan struct{})}, nil
}

// send posts one message and reports whether it was accepted.
func (w *widget) send(c *http.Client, base, clientID, text string) bool {
	body, _ := json.Marshal(map[string]string{"client_id": clientID, "text": text})
	req, _ := http.NewRequest(http.MethodPost, base+"/w/v1/messages", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+w.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusAccepted
}

// listen reads the widget's event stream until ctx ends, noting when each
// of the visitor's own messages arrives.
func (w *widget) listen(ctx context.Context, c *http.Client, base string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/w/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+w.token)
	resp, err := c.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			fatalf("web chat stream: %v", err)
		}
		return
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	started := false
	prefix := []byte(`"client_id":"`)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		now := time.Now()
		if !started && bytes.HasPrefix(line, []byte("event: state")) {
			started = true
			close(w.ready)
		}
		i := bytes.Index(line, prefix)
		if !bytes.HasPrefix(line, []byte("data: ")) || i < 0 {
			continue
		}
		rest := line[i+len(prefix):]
		if j := bytes.IndexByte(rest, '"'); j > 0 {
			id := string(rest[:j])
			w.mu.Lock()
			if _, seen := w.arrived[id]; !seen {
				w.arrived[id] = now
			}
			w.mu.Unlock()
		}
	}
}

func (w *widget) arrival(clientID string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.arrived[clientID]
	return t, ok
}
