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
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-chat/switchboard/core/internal/daemonproc"
)

// The sustained figures: the highest rate of webhooks the daemon carries
// while the engine keeps up with them (docs/performance.md, "Sustained
// throughput"), and the CPU each message costs at that rate.

// sustainedKey is the API key of the sustained runs' daemons: the
// observer reads their event stream with it.
const sustainedKey = "bench-sustained-key"

// keepUpBound is how long an acknowledged message may take to reach its
// transcript, and its answer the platform, for the engine to count as
// keeping up.
const keepUpBound = time.Second

// sustainedSizes are one run's sizes for the sustained search.
type sustainedSizes struct {
	conns, chats int
	warm, window time.Duration
	// start is the first rate tried; the search doubles it until a trial
	// fails, then halves the gap between the best passing rate and the
	// lowest failing one, for at most trials trials in all, and stops
	// once the gap is within resolution of the failing rate.
	start      float64
	trials     int
	resolution float64
}

var sustainedFull = sustainedSizes{conns: 64, chats: 1000, warm: 2 * time.Second, window: 10 * time.Second,
	start: 2000, trials: 8, resolution: 0.06}

var sustainedQuick = sustainedSizes{conns: 64, chats: 1000, warm: 500 * time.Millisecond, window: 2 * time.Second,
	start: 2000, trials: 4, resolution: 0.15}

// sustainedSetup is one configuration the search runs against.
type sustainedSetup struct {
	name     string
	sections string
	path     string // the webhook route
	// body is the webhook of message token from chat.
	body func(token int64, chat int) []byte
	// header sets the channel's authentication on a webhook.
	header func(h http.Header)
	// answered reports when message token (chat's first in the trial when
	// first) reached the platform as an answer; ok false while it has not,
	// and need false when its state asks for no answer.
	answered func(token int64, chat int, first bool) (at time.Time, ok, need bool)
	reset    func()
}

// trialResult is one rate tried.
type trialResult struct {
	offered, achieved float64
	acked, failed     int
	late, missing     int // over keepUpBound, or never seen
	unanswered        int // answers over keepUpBound or never sent
	backlogStart      int
	backlogEnd        int
	processed         int // lines that reached a transcript in the window
	cpu, daemonCPU    time.Duration
	p50, p99          time.Duration // ack → transcript
	load              string
	pass              bool
}

func (t trialResult) String() string {
	return fmt.Sprintf("offered %.0f/s achieved %.0f/s acked %d failed %d late %d missing %d unanswered %d backlog %d→%d transcript p50 %.1fms p99 %.1fms cpu %.0fµs/msg load %s pass %v",
		t.offered, t.achieved, t.acked, t.failed, t.late, t.missing, t.unanswered, t.backlogStart, t.backlogEnd,
		ms(t.p50), ms(t.p99), t.cpuPerMsg(), t.load, t.pass)
}

// cpuPerMsg is the daemon's and its plugins' CPU per processed message, in µs.
func (t trialResult) cpuPerMsg() float64 {
	if t.processed == 0 {
		return 0
	}
	return us(t.cpu) / float64(t.processed)
}

// runSustained runs the sustained search for the echo channel without a
// model and for Telegram with the instant model, and the bare net/http
// baseline, and emits their figures.
func runSustained(root string, plat *platform, modelURL string) {
	sz := sustainedFull
	if os.Getenv("BENCH_QUICK") == "1" {
		sz = sustainedQuick
	}
	replies, err := newReplySink()
	if err != nil {
		fatalf("%v", err)
	}
	defer replies.Close()

	echo := sustainedSetup{
		name: "echo", path: "/webhooks/echo",
		sections: fmt.Sprintf("\n[channels.echo]\nplugin = \"echo\"\n[channels.echo.options]\nreply_url = %q\n", replies.URL+"/reply"),
		body: func(token int64, chat int) []byte {
			return fmt.Appendf(nil, `{"id":"m%d","chat":"c%d","name":"Visitor","text":"hello k%d"}`, token, chat, token)
		},
		header: func(http.Header) {},
		answered: func(_ int64, chat int, first bool) (time.Time, bool, bool) {
			if !first {
				return time.Time{}, false, false // waiting for a person: nothing to send
			}
			at, ok := replies.first("c" + strconv.Itoa(chat))
			return at, ok, true
		},
		reset: replies.reset,
	}
	tg := sustainedSetup{
		name: "telegram", path: "/webhooks/tg",
		sections: telegramSection(plat.URL) + llmSection(modelURL),
		body: func(token int64, chat int) []byte {
			return update(token, 9_000_000_000+int64(chat), "hello k"+strconv.FormatInt(token, 10))
		},
		header: func(h http.Header) { h.Set("X-Telegram-Bot-Api-Secret-Token", tgSecret) },
		answered: func(token int64, _ int, _ bool) (time.Time, bool, bool) {
			at, ok := plat.arrival(token)
			return at, ok, true
		},
		reset: func() { plat.reset(true) },
	}
	defer plat.reset(false)

	var token atomic.Int64
	token.Store(50_000_000)
	results := map[string]trialResult{}
	for _, setup := range []sustainedSetup{echo, tg} {
		best := search(sz, func(rate float64) trialResult {
			dir := filepath.Join(root, "sustained-"+setup.name)
			os.RemoveAll(dir)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				fatalf("%v", err)
			}
			defer os.RemoveAll(dir)
			res := runTrial(sz, setup, dir, rate, &token)
			note("sustained %s: %v", setup.name, res)
			return res
		})
		results[setup.name] = best
	}

	// The bare net/http baseline, closed loop: its CPU is read around a
	// window that follows a warm-up of its own.
	bareURL, bareStop, barePid := startBareHTTPPid()
	bareBody := func(n int64) []byte {
		return update(n, 9_000_000_000+n%int64(sz.chats), "hello k"+strconv.FormatInt(n, 10))
	}
	closedLoop(bareURL+"/webhooks/tg", sz.conns, 0, sz.warm, 1<<40, bareBody)
	cpu0 := cpuTime([]int{barePid})
	bare := closedLoop(bareURL+"/webhooks/tg", sz.conns, 0, sz.window, 1<<40, bareBody)
	bareCPU := cpuTime([]int{barePid}) - cpu0
	load := loadAvg()
	bareStop()
	bareAll := float64(bare.ok + bare.failed)

	e, t := results["echo"], results["telegram"]
	emit("sustained_per_s", "%.0f", e.achieved)
	emit("sustained_load", "%s", e.load)
	emit("cpu_us_per_msg", "%.0f", e.cpuPerMsg())
	emit("cpu_us_per_msg_daemon", "%.0f", us(e.daemonCPU)/float64(max(e.processed, 1)))
	emit("sustained_transcript_p99_ms", "%.1f", ms(e.p99))
	emit("sustained_per_s_telegram", "%.0f", t.achieved)
	emit("sustained_load_telegram", "%s", t.load)
	emit("cpu_us_per_msg_telegram", "%.0f", t.cpuPerMsg())
	emit("cpu_us_per_msg_telegram_daemon", "%.0f", us(t.daemonCPU)/float64(max(t.processed, 1)))
	emit("sustained_transcript_p99_ms_telegram", "%.1f", ms(t.p99))
	emit("sustained_bare_http_per_s", "%.0f", bare.perSec)
	emit("sustained_bare_http_load", "%s", load)
	emit("cpu_us_per_msg_bare_http", "%.0f", us(bareCPU)/max(bareAll, 1))
	emit("sustained_vs_bare_http", "%.2f", e.achieved/bare.perSec)
	emit("cpu_vs_bare_http", "%.1f", e.cpuPerMsg()/(us(bareCPU)/max(bareAll, 1)))
}

// search finds the highest rate whose trial passes and returns that
// trial (the zero result when none did).
func search(sz sustainedSizes, try func(rate float64) trialResult) trialResult {
	var best trialResult
	lo, hi := 0.0, 0.0 // best passing rate, lowest failing rate
	rate := sz.start
	for range sz.trials {
		res := try(rate)
		if res.pass {
			if res.achieved > best.achieved {
				best = res
			}
			lo = rate
		} else {
			hi = rate
		}
		switch {
		case hi == 0:
			rate = 2 * lo
		case lo == 0:
			rate = hi / 2
		default:
			rate = (lo + hi) / 2
		}
		if hi > 0 && lo > 0 && (hi-lo)/hi <= sz.resolution {
			break
		}
	}
	return best
}

// runTrial starts a daemon for setup in dir, offers it rate webhooks a
// second for sz.warm+sz.window (open loop over sz.conns connections, each
// message from the next of sz.chats chats), and judges the window.
func runTrial(sz sustainedSizes, setup sustainedSetup, dir string, rate float64, tokens *atomic.Int64) trialResult {
	d := newKeyedDaemon(dir, setup.sections)
	d.start(60 * time.Second)
	defer d.stop()
	setup.reset()
	pids := d.pids()

	total := int(rate * (sz.warm + sz.window).Seconds())
	base := tokens.Add(int64(total)) - int64(total)
	obs, err := observe(d.URL, base, total)
	if err != nil {
		fatalf("sustained %s: %v", setup.name, err)
	}
	defer obs.close()

	acks := make([]atomic.Int64, total) // UnixNano of the 2xx, 0: none yet, -1: failed
	tickets := make(chan int, total)
	c := newClient(sz.conns)
	defer c.CloseIdleConnections()
	var wg sync.WaitGroup
	for range sz.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range tickets {
				req, err := http.NewRequest(http.MethodPost, d.URL+setup.path, bytes.NewReader(setup.body(base+int64(i), i%sz.chats)))
				if err != nil {
					fatalf("%v", err)
				}
				req.Header.Set("Content-Type", "application/json")
				setup.header(req.Header)
				resp, err := c.Do(req)
				if err != nil {
					acks[i].Store(-1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 300 {
					acks[i].Store(-1)
					continue
				}
				acks[i].Store(time.Now().UnixNano())
			}
		}()
	}

	// The CPU of the window is read when it starts and ends.
	start := time.Now()
	from, until := start.Add(sz.warm), start.Add(sz.warm+sz.window)
	var cpuFrom, cpuUntil, daemonFrom, daemonUntil time.Duration
	var load string
	var clock sync.WaitGroup
	clock.Add(1)
	go func() {
		defer clock.Done()
		time.Sleep(time.Until(from))
		cpuFrom, daemonFrom = cpuTime(pids), cpuTime(pids[:1])
		time.Sleep(time.Until(until))
		cpuUntil, daemonUntil = cpuTime(pids), cpuTime(pids[:1])
		load = loadAvg()
	}()
	interval := time.Duration(float64(time.Second) / rate)
	for i := range total {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait) // sleeps are coarse: the late tickets go together
		}
		tickets <- i
	}
	close(tickets)
	wg.Wait()
	clock.Wait()

	// Every message acknowledged in the window gets keepUpBound to reach
	// its transcript and platform.
	deadline := time.Now().Add(keepUpBound + 500*time.Millisecond)
	first := make(map[int]bool, sz.chats)
	for i := range min(total, sz.chats) {
		first[i] = true
	}
	res := trialResult{offered: rate, load: load, cpu: cpuUntil - cpuFrom, daemonCPU: daemonUntil - daemonFrom}
	var lat []time.Duration
	for {
		res.late, res.missing, res.unanswered, res.acked, res.failed = 0, 0, 0, 0, 0
		lat = lat[:0]
		for i := range total {
			ack := acks[i].Load()
			if ack == -1 {
				if t := start.Add(time.Duration(i) * interval); !t.Before(from) && t.Before(until) {
					res.failed++
				}
				continue
			}
			at := time.Unix(0, ack)
			if at.Before(from) || !at.Before(until) {
				continue
			}
			res.acked++
			seen, ok := obs.seen(i)
			if !ok {
				res.missing++
				continue
			}
			took := max(seen.Sub(at), 0)
			lat = append(lat, took)
			if took > keepUpBound {
				res.late++
			}
			if answer, ok, need := setup.answered(base+int64(i), i%sz.chats, first[i]); need && (!ok || answer.Sub(at) > keepUpBound) {
				res.unanswered++
			}
		}
		if (res.missing == 0 && res.unanswered == 0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The backlog at an instant: acknowledged, not yet in a transcript.
	backlog := func(t time.Time) int {
		n := 0
		for i := range total {
			ack := acks[i].Load()
			if ack <= 0 || time.Unix(0, ack).After(t) {
				continue
			}
			if seen, ok := obs.seen(i); !ok || seen.After(t) {
				n++
			}
		}
		return n
	}
	res.backlogStart, res.backlogEnd = backlog(from), backlog(until)
	for i := range total {
		if seen, ok := obs.seen(i); ok && !seen.Before(from) && seen.Before(until) {
			res.processed++
		}
	}
	sortDurations(lat)
	res.p50, res.p99 = percentile(lat, 0.5), percentile(lat, 0.99)
	res.achieved = float64(res.acked) / sz.window.Seconds()
	// A backlog under a tenth of a second of the offered load counts as
	// none: it is the messages in flight, not a queue that grows.
	allowed := max(res.backlogStart, int(rate/10))
	res.pass = res.failed == 0 && res.late == 0 && res.missing == 0 && res.unanswered == 0 &&
		res.backlogEnd <= allowed && res.achieved >= 0.95*rate
	return res
}

// newKeyedDaemon is newDaemon with an API key for the event stream.
func newKeyedDaemon(dir, sections string) *daemon {
	logf, err := os.OpenFile(filepath.Join(dir, "daemon.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		fatalf("%v", err)
	}
	proc, err := daemonproc.New(daemonproc.Options{
		Bin: *binDir, Dir: dir, LogLevel: "warn", ShutdownTimeout: 2 * time.Second, Sections: sections,
		APIKeys: []string{sustainedKey}, Output: logf,
	})
	if err != nil {
		fatalf("%v", err)
	}
	return &daemon{Daemon: proc, log: logf}
}

// observer reads the daemon's event stream (GET /v1/events, message.created
// only) and records when each visitor line carrying a bench token reached
// a transcript: the store writes the event in the transaction that adds
// the line, so its arrival on the stream is the line's commit plus the
// stream's wake-up and write, never earlier.
type observer struct {
	base   int64
	seenAt []atomic.Int64 // UnixNano by token-base; 0: not yet
	cancel context.CancelFunc
	done   chan struct{}
}

func observe(url string, base int64, n int) (*observer, error) {
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/v1/events?type=message.created", nil)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+sustainedKey)
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("event stream: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("event stream: %s", resp.Status)
	}
	o := &observer{base: base, seenAt: make([]atomic.Int64, n), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(o.done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var ev struct {
			Data struct {
				Role string `json:"role"`
				Text string `json:"text"`
			} `json:"data"`
		}
		for sc.Scan() {
			line, ok := bytes.CutPrefix(sc.Bytes(), []byte("data: "))
			if !ok {
				continue
			}
			now := time.Now().UnixNano()
			ev.Data.Role, ev.Data.Text = "", ""
			if json.Unmarshal(line, &ev) != nil || ev.Data.Role != "visitor" {
				continue
			}
			for _, tok := range tokensOf(ev.Data.Text) {
				if i := tok - o.base; i >= 0 && i < int64(len(o.seenAt)) {
					o.seenAt[i].CompareAndSwap(0, now)
				}
			}
		}
	}()
	return o, nil
}

// seen is when message i of the trial reached its transcript.
func (o *observer) seen(i int) (time.Time, bool) {
	at := o.seenAt[i].Load()
	return time.Unix(0, at), at != 0
}

func (o *observer) close() {
	o.cancel()
	<-o.done
}

// replySink is the echo channel's platform: it records when the first
// reply to each chat arrived.
type replySink struct {
	srv *http.Server
	URL string
	mu  sync.Mutex
	at  map[string]time.Time
}

func newReplySink() (*replySink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &replySink{URL: "http://" + ln.Addr().String(), at: map[string]time.Time{}}
	s.srv = &http.Server{Handler: s, IdleTimeout: time.Minute}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *replySink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	var reply struct {
		Chat string `json:"chat"`
	}
	json.NewDecoder(r.Body).Decode(&reply)
	s.mu.Lock()
	if _, dup := s.at[reply.Chat]; !dup {
		s.at[reply.Chat] = now
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (s *replySink) first(chat string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.at[chat]
	return at, ok
}

func (s *replySink) reset() {
	s.mu.Lock()
	s.at = map[string]time.Time{}
	s.mu.Unlock()
}

func (s *replySink) Close() { s.srv.Close() }

// loadAvg is the machine's 1-minute load average, "" when unknown.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	if f := strings.Fields(string(data)); len(f) > 0 {
		return f[0]
	}
	return ""
}

// startBareHTTPPid is startBareHTTP (the bare_http baseline) that also
// returns the child's pid.
func startBareHTTPPid() (string, func(), int) {
	self, err := os.Executable()
	if err != nil {
		fatalf("%v", err)
	}
	cmd := exec.Command(self, "serve-bare-http", "-bin", *binDir)
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
	return "http://" + strings.TrimSpace(addr), func() { cmd.Process.Kill(); cmd.Wait() }, cmd.Process.Pid
}
