package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
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

// keepUpBound is how long an acknowledged message may wait in the inbox,
// and its answer take to reach the platform, for the engine to count as
// keeping up.
const keepUpBound = time.Second

var (
	fixedRate  = flag.Float64("rate", 0, "sustained phase: run one trial per setup at this rate instead of searching (for profiling)")
	setupsFlag = flag.String("setups", "echo,telegram", "sustained phase: the setups to run (echo, telegram); the bare net/http baseline always runs")
)

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
	// retry runs a failing rate once more (counted in trials) before the
	// search takes it as failing: on a shared machine another process can
	// stall the daemon for a second.
	retry bool
}

var sustainedFull = sustainedSizes{conns: 64, chats: 1000, warm: 2 * time.Second, window: 10 * time.Second,
	start: 2000, trials: 10, resolution: 0.06, retry: true}

var sustainedQuick = sustainedSizes{conns: 64, chats: 1000, warm: 500 * time.Millisecond, window: 2 * time.Second,
	start: 2000, trials: 4, resolution: 0.15}

// sustainedSetup is one configuration the search runs against.
type sustainedSetup struct {
	name     string
	channel  string // the channel instance's name
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
	// floor makes the same plugin calls per message with nothing
	// stored (see floorSpec).
	floor floorSpec
}

// trialResult is one rate tried.
type trialResult struct {
	offered, achieved float64
	acked, failed     int
	behind            int // samples with a backlog older than keepUpBound
	noMetrics         bool
	unanswered        int // answers over keepUpBound or never sent
	backlogStart      int
	backlogEnd        int
	processed         int // inbox events the engine finished in the window
	cpu, daemonCPU    time.Duration
	// The store writer in the window: pages written per message
	// accepted, queued writes per commit, and the share of the window it
	// was busy.
	pagesPerMsg, writesPerCommit, writerBusy float64
	// ageP50 and ageMax are how far back the backlog reached over the
	// samples from the window's start to a second after it.
	ageP50, ageMax time.Duration
	load           string
	pass           bool
}

func (t trialResult) String() string {
	return fmt.Sprintf("offered %.0f/s achieved %.0f/s acked %d failed %d unanswered %d behind %d backlog %d→%d age p50 %.0fms max %.0fms processed %d cpu %.0fµs/msg writer busy %.2f, %.1f writes/commit, %.2f pages/msg load %s pass %v",
		t.offered, t.achieved, t.acked, t.failed, t.unanswered, t.behind, t.backlogStart, t.backlogEnd,
		ms(t.ageP50), ms(t.ageMax), t.processed, t.cpuPerMsg(), t.writerBusy, t.writesPerCommit, t.pagesPerMsg, t.load, t.pass)
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

	echoOptions := map[string]any{"reply_url": replies.URL + "/reply"}
	echo := sustainedSetup{
		name: "echo", channel: "echo", path: "/webhooks/echo",
		sections: "\n[channels.echo]\nplugin = \"echo\"\n[channels.echo.options]\n" + tomlValues(echoOptions) + "\n[bot]\ngather_window = \"0s\"\n",
		// Nothing is sent for a chat's later lines, which wait for a
		// person: the floor is the webhook's hop alone.
		floor: floorSpec{Plugin: "echo", Options: echoOptions},
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
		name: "telegram", channel: "tg", path: "/webhooks/tg",
		// The instant model stands for a model server that takes many
		// requests at once, as a hosted one does; at the default of 4
		// calls at a time the figure would be the model calls' round trip
		// (Little's law), not what the daemon carries.
		sections: telegramSection(plat.URL) + llmSection(modelURL) + "concurrency = 64\n",
		body: func(token int64, chat int) []byte {
			return update(token, 9_000_000_000+int64(chat), "hello k"+strconv.FormatInt(token, 10))
		},
		header: func(h http.Header) { h.Set("X-Telegram-Bot-Api-Secret-Token", tgSecret) },
		answered: func(token int64, _ int, _ bool) (time.Time, bool, bool) {
			at, ok := plat.arrival(token)
			return at, ok, true
		},
		reset: func() { plat.reset(true) },
		floor: floorSpec{Plugin: "telegram", Options: telegramOptions(plat.URL), Model: modelURL},
	}
	defer plat.reset(false)

	var tokens atomic.Int64
	tokens.Store(50_000_000)
	results := map[string]trialResult{}
	for _, setup := range []sustainedSetup{echo, tg} {
		if !slices.Contains(strings.Split(*setupsFlag, ","), setup.name) {
			continue
		}
		best := search(sz, func(rate float64) trialResult {
			dir := filepath.Join(root, "sustained-"+setup.name)
			os.RemoveAll(dir)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				fatalf("%v", err)
			}
			defer os.RemoveAll(dir)
			res := runTrial(sz, setup, dir, rate, &tokens)
			note("sustained %s: %v", setup.name, res)
			return res
		})
		results[setup.name] = best
	}

	// The bare net/http baseline, and each setup's plugin floor.
	plat.reset(false)
	bare := runFloor(sz, floorSpec{}, func(n int64) []byte {
		return update(n, 9_000_000_000+n%int64(sz.chats), "hello k"+strconv.FormatInt(n, 10))
	})
	floors := map[string]floorResult{}
	for _, setup := range []sustainedSetup{echo, tg} {
		if _, ok := results[setup.name]; ok {
			floors[setup.name] = runFloor(sz, setup.floor, func(n int64) []byte {
				return setup.body(tokens.Add(1), int(n%int64(sz.chats)))
			})
		}
	}

	// A setup's figures; suffix tells Telegram's from the echo's.
	emitSetup := func(suffix string, r trialResult, floor floorResult) {
		emit("sustained_per_s"+suffix, "%.0f", r.achieved)
		emit("sustained_load"+suffix, "%s", r.load)
		emit("cpu_us_per_msg"+suffix, "%.0f", r.cpuPerMsg())
		emit("cpu_us_per_msg"+suffix+"_daemon", "%.0f", us(r.daemonCPU)/float64(max(r.processed, 1)))
		emit("sustained_backlog_age_max_ms"+suffix, "%.0f", ms(r.ageMax))
		emit("sustained_pages_per_msg"+suffix, "%.2f", r.pagesPerMsg)
		emit("sustained_writes_per_commit"+suffix, "%.1f", r.writesPerCommit)
		emit("sustained_writer_busy"+suffix, "%.2f", r.writerBusy)
		emit("plugin_floor_per_s"+suffix, "%.0f", floor.perSec)
		emit("plugin_floor_load"+suffix, "%s", floor.load)
		emit("cpu_us_per_msg_plugin_floor"+suffix, "%.0f", floor.cpuPerMsg)
		emit("sustained_vs_plugin_floor"+suffix, "%.2f", r.achieved/floor.perSec)
	}
	if e, ok := results["echo"]; ok {
		emitSetup("", e, floors["echo"])
	}
	if t, ok := results["telegram"]; ok {
		emitSetup("_telegram", t, floors["telegram"])
	}
	emit("sustained_bare_http_per_s", "%.0f", bare.perSec)
	emit("sustained_bare_http_load", "%s", bare.load)
	emit("cpu_us_per_msg_bare_http", "%.0f", bare.cpuPerMsg)
	if e, ok := results["echo"]; ok {
		emit("sustained_vs_bare_http", "%.2f", e.achieved/bare.perSec)
		emit("cpu_vs_bare_http", "%.1f", e.cpuPerMsg()/bare.cpuPerMsg)
	}
}

// floorResult is a baseline's closed-loop rate, its processes' CPU per
// request and the load average at its end.
type floorResult struct {
	perSec, cpuPerMsg float64
	load              string
}

// runFloor runs the baseline of spec in its own process, closed loop with
// the sustained phase's connections, and reads its CPU (and its plugins')
// around a window that follows a warm-up of its own.
func runFloor(sz sustainedSizes, spec floorSpec, body func(n int64) []byte) floorResult {
	url, stop, pids := startBareHTTP(spec)
	defer stop()
	closedLoop(url+"/webhooks/floor", sz.conns, 0, sz.warm, 1<<40, body)
	before := make([]time.Duration, len(pids))
	for i, pid := range pids {
		before[i] = cpuTime([]int{pid})
	}
	res := closedLoop(url+"/webhooks/floor", sz.conns, 0, sz.window, 1<<40, body)
	reqs := max(float64(res.ok+res.failed), 1)
	var cpu time.Duration
	var by []string
	for i, pid := range pids {
		d := cpuTime([]int{pid}) - before[i]
		cpu += d
		by = append(by, fmt.Sprintf("%s %.0f", procName(pid), us(d)/reqs))
	}
	if spec.Plugin != "" {
		note("plugin floor %s: %.0f/s, CPU µs per request by process: %s", spec.Plugin, res.perSec, strings.Join(by, ", "))
	}
	return floorResult{perSec: res.perSec, cpuPerMsg: us(cpu) / reqs, load: loadAvg()}
}

// search finds the highest rate whose trial passes and returns that
// trial (the zero result when none did).
func search(sz sustainedSizes, try func(rate float64) trialResult) trialResult {
	if *fixedRate > 0 {
		return try(*fixedRate)
	}
	var best trialResult
	lo, hi := 0.0, 0.0 // best passing rate, lowest failing rate
	rate := sz.start
	for n := 0; n < sz.trials; n++ {
		res := try(rate)
		if !res.pass && sz.retry && n+1 < sz.trials {
			n++
			res = try(rate)
		}
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
//
// A visitor's line is written to its transcript in the commit that
// acknowledges the webhook, so what remains to watch is the engine: the
// answers at the fake platforms, message by message, and the inbox
// backlog, read from the daemon's counters (/metrics) every samplePeriod:
// events accepted minus events the engine finished.
func runTrial(sz sustainedSizes, setup sustainedSetup, dir string, rate float64, tokens *atomic.Int64) trialResult {
	d := newSustainedDaemon(dir, setup.sections)
	d.start(60 * time.Second)
	defer d.stop()
	setup.reset()
	pids := d.pids()

	total := int(rate * (sz.warm + sz.window).Seconds())
	base := tokens.Add(int64(total)) - int64(total)
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

	start := time.Now()
	from, until := start.Add(sz.warm), start.Add(sz.warm+sz.window)
	// The counters are sampled from the start until a second after the
	// window; CPU is read when the window starts and ends.
	smp := &sampler{url: d.URL + "/metrics", channel: setup.channel,
		// Uncompressed: compressing every scrape would cost the daemon
		// more than reading its counters.
		client: http.Client{Transport: &http.Transport{DisableCompression: true}}}
	stopSampling := make(chan struct{})
	var sampling sync.WaitGroup
	sampling.Add(1)
	go func() {
		defer sampling.Done()
		smp.run(stopSampling)
	}()
	var cpuFrom, cpuUntil, daemonFrom, daemonUntil time.Duration
	var atFrom, atUntil sample
	var load string
	var clock sync.WaitGroup
	clock.Add(1)
	go func() {
		defer clock.Done()
		time.Sleep(time.Until(from))
		cpuFrom, daemonFrom = cpuTime(pids), cpuTime(pids[:1])
		atFrom = smp.take()
		time.Sleep(time.Until(until))
		cpuUntil, daemonUntil = cpuTime(pids), cpuTime(pids[:1])
		atUntil = smp.take()
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

	// Every message acknowledged in the window gets keepUpBound to be
	// answered.
	deadline := time.Now().Add(keepUpBound + 500*time.Millisecond)
	res := trialResult{offered: rate, load: load, cpu: cpuUntil - cpuFrom, daemonCPU: daemonUntil - daemonFrom}
	for {
		res.unanswered, res.acked, res.failed = 0, 0, 0
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
			first := i < sz.chats
			if answer, ok, need := setup.answered(base+int64(i), i%sz.chats, first); need && (!ok || answer.Sub(at) > keepUpBound) {
				res.unanswered++
			}
		}
		if res.unanswered == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for time.Since(until) < keepUpBound+samplePeriod {
		time.Sleep(samplePeriod)
	}
	close(stopSampling)
	sampling.Wait()

	// acked counts the acknowledgements the generator had received by t
	// since t-span (span 0: since the start).
	var ackTimes []int64
	for i := range total {
		if ack := acks[i].Load(); ack > 0 {
			ackTimes = append(ackTimes, ack)
		}
	}
	slices.Sort(ackTimes)
	upTo := func(t time.Time) int { // acknowledgements at or before t
		n, _ := slices.BinarySearch(ackTimes, t.UnixNano()+1)
		return n
	}
	acked := func(t time.Time, span time.Duration) int {
		if span == 0 {
			return upTo(t)
		}
		return upTo(t) - upTo(t.Add(-span))
	}
	// The engine is behind when, at a sample in the window or the second
	// after it, the backlog holds more than what was acknowledged in the
	// last keepUpBound (and the acknowledgements still on their way, one
	// per connection): the engine takes the inbox in order, so the
	// backlog is then older than keepUpBound.
	var lags []time.Duration
	for _, x := range smp.samples {
		if x.at.Before(from) {
			continue
		}
		if x.backlog() > acked(x.at, keepUpBound)+sz.conns {
			res.behind++
		}
		// How far back the backlog reaches: the age of the oldest
		// acknowledgement it can hold.
		n, lag := x.backlog(), time.Duration(0)
		for ; n > acked(x.at, lag+10*time.Millisecond) && lag < 10*time.Second; lag += 10 * time.Millisecond {
		}
		lags = append(lags, lag)
	}
	if len(smp.samples) == 0 || atUntil.at.IsZero() {
		res.noMetrics = true
	}
	res.backlogStart, res.backlogEnd = atFrom.backlog(), atUntil.backlog()
	res.processed = int(atUntil.processed - atFrom.processed)
	if n := atUntil.accepted - atFrom.accepted; n > 0 {
		res.pagesPerMsg = float64(atUntil.pages-atFrom.pages) / float64(n)
	}
	if n := atUntil.commits - atFrom.commits; n > 0 {
		res.writesPerCommit = float64(atUntil.writes-atFrom.writes) / float64(n)
	}
	if span := atUntil.at.Sub(atFrom.at).Seconds(); span > 0 {
		res.writerBusy = (atUntil.busy - atFrom.busy) / span
	}
	sortDurations(lags)
	res.ageP50, res.ageMax = percentile(lags, 0.5), percentile(lags, 1)
	res.achieved = float64(res.acked) / sz.window.Seconds()
	// A backlog under a tenth of a second of the offered load, or under
	// one message per connection, counts as none: it is the messages in
	// flight, not a queue that grows.
	allowed := max(res.backlogStart, int(rate/10), sz.conns)
	res.pass = res.failed == 0 && res.behind == 0 && !res.noMetrics && res.unanswered == 0 &&
		res.backlogEnd <= allowed && res.achieved >= 0.95*rate
	return res
}

// samplePeriod is how often the daemon's counters are read.
const samplePeriod = 200 * time.Millisecond

// sample is the daemon's counters at one instant.
type sample struct {
	at                  time.Time
	accepted, processed uint64
	// The store writer's counters.
	commits, writes, pages uint64
	busy                   float64 // seconds
}

// backlog is the inbox's length: accepted, not yet finished.
func (x sample) backlog() int { return int(x.accepted) - int(x.processed) }

// sampler reads the events a channel accepted and the events the engine
// finished from the daemon's /metrics.
type sampler struct {
	url, channel string
	client       http.Client
	samples      []sample // written by run only
}

func (s *sampler) run(stop <-chan struct{}) {
	tick := time.NewTicker(samplePeriod)
	defer tick.Stop()
	for {
		if x := s.take(); !x.at.IsZero() {
			s.samples = append(s.samples, x)
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// take reads the counters once; a zero sample when the scrape failed.
func (s *sampler) take() sample {
	resp, err := s.client.Get(s.url)
	if err != nil {
		return sample{}
	}
	defer resp.Body.Close()
	x := sample{at: time.Now()}
	accepted := `switchboard_inbound_events_total{channel="` + s.channel + `",outcome="accepted"} `
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, accepted); ok {
			f, _ := strconv.ParseFloat(v, 64)
			x.accepted = uint64(f)
		} else if name, v, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(name, "#") {
			f, _ := strconv.ParseFloat(v, 64)
			switch name {
			case "switchboard_engine_processed_events_total":
				x.processed = uint64(f)
			case "switchboard_store_commits_total":
				x.commits = uint64(f)
			case "switchboard_store_writes_total":
				x.writes = uint64(f)
			case "switchboard_store_pages_written_total":
				x.pages = uint64(f)
			case "switchboard_store_busy_seconds_total":
				x.busy = f
			}
		}
	}
	return x
}

// newSustainedDaemon is newDaemon without the fine /readyz polling.
func newSustainedDaemon(dir, sections string) *daemon {
	logf, err := os.OpenFile(filepath.Join(dir, "daemon.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		fatalf("%v", err)
	}
	proc, err := daemonproc.New(daemonproc.Options{
		Bin: *binDir, Dir: dir, LogLevel: "warn", ShutdownTimeout: 2 * time.Second, Sections: sections, Output: logf,
	})
	if err != nil {
		fatalf("%v", err)
	}
	return &daemon{Daemon: proc, log: logf}
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

// procName is a process's command name.
func procName(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}
