// Command bench is Switchboard's load generator. It starts the real daemon
// and plugin binaries (from bin/, built by `make build`) on loopback, with a
// fake Telegram send API and a fake Ollama server (model.go), and
// prints one "name: value" line per figure; every baseline is measured in
// the same run. See docs/performance.md.
//
//	make bench                 # full suite (about 15 minutes)
//	BENCH_QUICK=1 make bench   # a few seconds per figure, small sizes (CI)
//	go run ./core/cmd/bench -only ingest,overhead
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const benchModel = "bench:latest"

var (
	binDir     = flag.String("bin", "bin", "directory holding switchboard and plugins/")
	only       = flag.String("only", "", "comma-separated phases to run (ingest,sustained,overhead,webchat,rpc,rss,ingest1m,startup,recovery); default all")
	keep       = flag.Bool("keep", false, "keep the work directory (databases, configs, daemon logs)")
	workDir    = flag.String("dir", "", "work directory (default: a new temporary one)")
	noModel    = flag.Bool("no-model", false, "ingest and webchat phases: run the daemon without [llm] (every conversation goes to the human queue)")
	modelDelay = flag.Duration("model-delay", time.Second, "ingest phases: how long the fake model takes to answer, like a small local model (the other phases use an instant one)")
)

// sizes of one run.
type sizes struct {
	warm, ingestDur time.Duration
	conns           int
	maxReq          int64
	ingestChats     int
	overheadRate    float64
	overheadDur     time.Duration
	overheadConvs   int
	rpcCalls        int
	rssStored       int
	rssActive       int
	stored1M        int
	startups        int
	recoveryOutbox  int
	webStreams      int
	webOperators    int
	webRate         float64
	webDur          time.Duration
}

var full = sizes{
	warm: 2 * time.Second, ingestDur: 30 * time.Second, conns: 64, maxReq: 2_000_000, ingestChats: 100_000,
	overheadRate: 200, overheadDur: 30 * time.Second, overheadConvs: 2000,
	rpcCalls: 20000, rssStored: 100_000, rssActive: 10_000, stored1M: 1_000_000, startups: 5, recoveryOutbox: 100_000,
	webStreams: 1000, webOperators: 20, webRate: 200, webDur: 30 * time.Second,
}

var quick = sizes{
	warm: 500 * time.Millisecond, ingestDur: 3 * time.Second, conns: 64, maxReq: 200_000, ingestChats: 10_000,
	overheadRate: 200, overheadDur: 3 * time.Second, overheadConvs: 200,
	rpcCalls: 2000, rssStored: 10_000, rssActive: 1000, stored1M: 50_000, startups: 2, recoveryOutbox: 5000,
	webStreams: 200, webOperators: 20, webRate: 200, webDur: 3 * time.Second,
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}

func emit(name string, format string, args ...any) {
	fmt.Printf("%s: %s\n", name, fmt.Sprintf(format, args...))
}

func note(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "# "+format+"\n", args...)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve-bare-http" {
		flag.CommandLine.Parse(os.Args[2:])
		var spec floorSpec
		if err := json.Unmarshal([]byte(flag.Arg(0)), &spec); err != nil {
			fatalf("serve-bare-http: %v", err)
		}
		serveBareHTTP(spec)
		return
	}
	flag.Parse()
	sz := full
	if os.Getenv("BENCH_QUICK") == "1" {
		sz = quick
		emit("bench_quick", "1")
	}
	phases := map[string]bool{}
	for _, p := range strings.Split(*only, ",") {
		if p = strings.TrimSpace(p); p != "" {
			phases[p] = true
		}
	}
	run := func(name string) bool { return len(phases) == 0 || phases[name] }
	if _, err := os.Stat(filepath.Join(*binDir, "switchboard")); err != nil {
		fatalf("%v (run make build first)", err)
	}
	root := *workDir
	if root == "" {
		var err error
		if root, err = os.MkdirTemp("", "switchboard-bench-"); err != nil {
			fatalf("%v", err)
		}
	}
	if !*keep {
		defer os.RemoveAll(root)
	}
	note("work dir %s, GOMAXPROCS %d", root, runtime.GOMAXPROCS(0))
	plat, err := newPlatform()
	if err != nil {
		fatalf("%v", err)
	}
	defer plat.Close()
	modelURL, stopModel := model(0)
	defer stopModel()
	slowModelURL, stopSlowModel := model(*modelDelay)
	defer stopSlowModel()
	sub := func(name string) string {
		d := filepath.Join(root, name)
		os.RemoveAll(d)
		if err := os.MkdirAll(d, 0o700); err != nil {
			fatalf("%v", err)
		}
		return d
	}
	var updateID atomic.Int64
	updateID.Store(1_000_000)
	var ingestEmpty float64

	// The ingest load: every webhook from one of 100k chats in turn (a
	// broadcast's replies: new conversations first, then their next
	// lines).
	body := func(n int64) []byte {
		chat := 7_000_000_000 + (n*7919)%int64(sz.ingestChats)
		id := updateID.Add(1)
		return update(id, chat, "hello k"+strconv.FormatInt(id, 10))
	}

	// 1. Ingest on an empty database, and its baselines.
	if run("ingest") {
		sections := telegramSection(plat.URL) + llmSection(slowModelURL)
		if *noModel {
			sections = telegramSection(plat.URL)
		}
		d := newDaemon(sub("ingest"), sections)
		d.start(60 * time.Second)
		res := closedLoop(d.URL+"/webhooks/tg", sz.conns, sz.warm, sz.ingestDur, sz.maxReq, body)
		d.stop()
		ingestEmpty = res.perSec
		emit("ingest_per_s", "%.0f", res.perSec)
		if res.failed > 0 {
			emit("ingest_failed", "%d", res.failed)
		}
		// The same with a model that answers at once: the engine answers
		// every webhook as fast as the machine allows, on the same cores.
		d = newDaemon(sub("ingest-instant"), telegramSection(plat.URL)+llmSection(modelURL))
		d.start(60 * time.Second)
		inst := closedLoop(d.URL+"/webhooks/tg", sz.conns, sz.warm, sz.ingestDur, sz.maxReq, body)
		d.stop()
		emit("ingest_per_s_instant_model", "%.0f", inst.perSec)

		bareURL, stopBare, _ := startBareHTTP(floorSpec{})
		bare := closedLoop(bareURL+"/webhooks/tg", sz.conns, sz.warm, sz.ingestDur, sz.maxReq, body)
		stopBare()
		emit("bare_http_per_s", "%.0f", bare.perSec)

		pluginURL, stopPlugin, _ := startBareHTTP(floorSpec{Plugin: "telegram", Options: telegramOptions(plat.URL)})
		viaPlugin := closedLoop(pluginURL+"/webhooks/tg", sz.conns, sz.warm, sz.ingestDur, sz.maxReq, body)
		stopPlugin()
		emit("plugin_http_per_s", "%.0f", viaPlugin.perSec)

		commit := bareCommit(sub("bare-commit"), sz.conns, sz.warm, sz.ingestDur, sz.maxReq, body)
		emit("bare_commit_per_s", "%.0f", commit.perSec)
		emit("ingest_vs_bare_http", "%.2f", res.perSec/bare.perSec)
		emit("ingest_vs_bare_commit", "%.2f", res.perSec/commit.perSec)
		emit("ingest_vs_plugin_http", "%.2f", res.perSec/viaPlugin.perSec)
	}

	// 2. What the daemon adds around the model: webhook in → sendMessage at
	// the fake, open-loop at a steady rate over many conversations.
	if run("overhead") {
		d := newDaemon(sub("overhead"), telegramSection(plat.URL)+llmSection(modelURL))
		d.start(60 * time.Second)
		n := int(sz.overheadRate * sz.overheadDur.Seconds())
		base := updateID.Add(int64(n)) - int64(n)
		plat.reset(true)
		sentAt, failed := openLoop(d.URL+"/webhooks/tg", sz.overheadRate, n, func(i int) []byte {
			return update(base+int64(i), 8_000_000_000+int64(i%sz.overheadConvs), "hello k"+strconv.FormatInt(base+int64(i), 10))
		})
		deadline := time.Now().Add(15 * time.Second)
		var lat []time.Duration
		for {
			lat = lat[:0]
			for i := range n {
				if at, ok := plat.arrival(base + int64(i)); ok {
					lat = append(lat, at.Sub(sentAt[i]))
				}
			}
			if len(lat) == n || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		d.stop()
		plat.reset(false)
		sortDurations(lat)
		emit("overhead_p50_ms", "%.2f", ms(percentile(lat, 0.50)))
		emit("overhead_p99_ms", "%.2f", ms(percentile(lat, 0.99)))
		emit("overhead_max_ms", "%.2f", ms(percentile(lat, 1)))
		if missing := n - len(lat); missing > 0 || failed > 0 {
			emit("overhead_unanswered", "%d", missing)
			emit("overhead_webhooks_failed", "%d", failed)
		}
	}

	// The web chat's push path: a visitor's message → its event on the
	// visitor's open stream, with many widgets connected, and the memory
	// the idle streams take.
	if run("webchat") {
		sections := llmSection(modelURL) + webchatSection
		if *noModel {
			sections = webchatSection
		}
		d := newDaemon(sub("webchat"), sections)
		addOperators(d, sz.webOperators)
		d.start(60 * time.Second)
		res := webchatPush(d, sz.webStreams, sz.webOperators, sz.webRate, sz.webDur)
		d.stop()
		fsync := fsyncTimes(sub("fsync"), 200)
		emit("fsync_p50_ms", "%.2f", ms(percentile(fsync, 0.50)))
		emit("fsync_p99_ms", "%.2f", ms(percentile(fsync, 0.99)))
		emit("webchat_streams", "%d", res.streams)
		emit("webchat_sse_p50_ms", "%.2f", ms(percentile(res.latencies, 0.50)))
		emit("webchat_sse_p99_ms", "%.2f", ms(percentile(res.latencies, 0.99)))
		emit("webchat_sse_max_ms", "%.2f", ms(percentile(res.latencies, 1)))
		emit("webchat_post_p50_ms", "%.2f", ms(percentile(res.acks, 0.50)))
		emit("webchat_post_p99_ms", "%.2f", ms(percentile(res.acks, 0.99)))
		emit("webchat_operators", "%d", res.operators)
		emit("webchat_operator_sse_p50_ms", "%.2f", ms(percentile(res.opLatencies, 0.50)))
		emit("webchat_operator_sse_p99_ms", "%.2f", ms(percentile(res.opLatencies, 0.99)))
		emit("webchat_operator_sse_max_ms", "%.2f", ms(percentile(res.opLatencies, 1)))
		emit("webchat_cpu_cores", "%.2f", res.cores)
		per1000 := func(beforeKB, afterKB int) float64 {
			return float64(afterKB-beforeKB) / 1024 / float64(res.streams) * 1000
		}
		emit("webchat_rss_mb_per_1000_streams", "%.1f", per1000(res.rssBefore, res.rssIdle))
		emit("webchat_rss_anon_mb_per_1000_streams", "%.1f", per1000(res.anonBefore, res.anonIdle))
		if missing := res.sent - len(res.latencies); missing > 0 || res.failed > 0 {
			emit("webchat_sse_missing", "%d", missing)
			emit("webchat_posts_failed", "%d", res.failed)
		}
		if missing := res.sent*res.operators - len(res.opLatencies); missing > 0 {
			emit("webchat_operator_sse_missing", "%d", missing)
		}
	}

	// 3. One host↔plugin gRPC round trip.
	if run("rpc") {
		ping, hook := pluginRPC(plat.URL, sz.rpcCalls)
		sortDurations(ping)
		sortDurations(hook)
		emit("plugin_rpc_p50_us", "%.0f", us(percentile(ping, 0.50)))
		emit("plugin_rpc_p99_us", "%.0f", us(percentile(ping, 0.99)))
		emit("plugin_webhook_rpc_p50_us", "%.0f", us(percentile(hook, 0.50)))
		emit("plugin_webhook_rpc_p99_us", "%.0f", us(percentile(hook, 0.99)))
	}

	// 4. Memory with 10k conversations active and 100k stored.
	if run("rss") {
		dir := sub("rss")
		took := seed(dataPath(dir), sz.rssStored, false)
		note("seeded %d conversations in %v", sz.rssStored, took.Round(time.Millisecond))
		d := newDaemon(dir, telegramSection(plat.URL)+llmSection(modelURL))
		d.start(60 * time.Second)
		emit("rss_mb_idle_stored", "%.0f", float64(d.mem().rss)/1024)
		plat.reset(false)
		var peak, peakAnon atomic.Int64
		stopSampling := make(chan struct{})
		var sampled sync.WaitGroup
		sampled.Add(1)
		go func() {
			defer sampled.Done()
			for {
				m := d.mem()
				if kb := int64(m.rss); kb > peak.Load() {
					peak.Store(kb)
				}
				if kb := int64(m.anon); kb > peakAnon.Load() {
					peakAnon.Store(kb)
				}
				select {
				case <-stopSampling:
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		}()
		stride := sz.rssStored / sz.rssActive
		closedLoop(d.URL+"/webhooks/tg", sz.conns, 0, 60*time.Second, int64(sz.rssActive), func(n int64) []byte {
			id := updateID.Add(1)
			return update(id, seedChat(int(n-1)*stride), "hello k"+strconv.FormatInt(id, 10))
		})
		deadline := time.Now().Add(60 * time.Second)
		for plat.sent.Load() < int64(sz.rssActive) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		answered := plat.sent.Load()
		time.Sleep(500 * time.Millisecond)
		close(stopSampling)
		sampled.Wait()
		after := d.mem()
		d.stop()
		emit("rss_mb_10k_active", "%.0f", float64(peak.Load())/1024)
		emit("rss_anon_mb_10k_active", "%.0f", float64(peakAnon.Load())/1024)
		emit("rss_mb_10k_after", "%.0f", float64(after.rss)/1024)
		if fi, err := os.Stat(dataPath(dir)); err == nil {
			emit("db_file_mb_10k_active", "%.0f", float64(fi.Size())/(1<<20))
		}
		if answered < int64(sz.rssActive) {
			emit("rss_unanswered", "%d", int64(sz.rssActive)-answered)
		}
	}

	// 5. Ingest with a million conversations stored.
	if run("ingest1m") {
		dir := sub("ingest1m")
		took := seed(dataPath(dir), sz.stored1M, false)
		if fi, err := os.Stat(dataPath(dir)); err == nil {
			note("seeded %d conversations in %v (%d MB)", sz.stored1M, took.Round(time.Millisecond), fi.Size()>>20)
		}
		d := newDaemon(dir, telegramSection(plat.URL)+llmSection(slowModelURL))
		d.start(120 * time.Second)
		emit("startup_ms_1m_stored", "%.0f", ms(d.ReadyAt.Sub(d.StartedAt)))
		// Figure 1's load again, now beside a million conversations.
		res := closedLoop(d.URL+"/webhooks/tg", sz.conns, sz.warm, sz.ingestDur, sz.maxReq, body)
		emit("ingest_per_s_1m_stored", "%.0f", res.perSec)
		if ingestEmpty > 0 {
			emit("ingest_1m_vs_empty", "%.2f", res.perSec/ingestEmpty)
		}
		// The harder case: every webhook from a random one of the million
		// stored conversations, each a write to a random page.
		rng := rand.New(rand.NewPCG(1, 2))
		var mu sync.Mutex
		old := closedLoop(d.URL+"/webhooks/tg", sz.conns, sz.warm, sz.ingestDur, sz.maxReq, func(n int64) []byte {
			mu.Lock()
			chat := seedChat(rng.IntN(sz.stored1M))
			mu.Unlock()
			id := updateID.Add(1)
			return update(id, chat, "hello k"+strconv.FormatInt(id, 10))
		})
		d.stop()
		emit("ingest_per_s_1m_stored_random_old_chats", "%.0f", old.perSec)
	}

	// 6. Startup with every shipped plugin, and recovery of a big outbox.
	if run("startup") {
		var times []time.Duration
		for i := range sz.startups {
			d := newDaemon(sub("startup-"+strconv.Itoa(i)), allShipped(plat.URL, modelURL))
			d.start(60 * time.Second)
			times = append(times, d.ReadyAt.Sub(d.StartedAt))
			d.stop()
		}
		slices.Sort(times)
		emit("startup_ms", "%.0f", ms(times[len(times)/2]))
		emit("startup_ms_max", "%.0f", ms(times[len(times)-1]))
	}
	if run("recovery") {
		dir := sub("recovery")
		took := seed(dataPath(dir), sz.recoveryOutbox, true)
		note("seeded %d pending outbox entries in %v", sz.recoveryOutbox, took.Round(time.Millisecond))
		d := newDaemon(dir, telegramSection(plat.URL)+llmSection(modelURL))
		plat.reset(false)
		d.start(60 * time.Second)
		deadline := time.Now().Add(60 * time.Second)
		for plat.first().IsZero() && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		first := plat.first()
		d.stop()
		if first.IsZero() {
			fatalf("recovery: no send within 60s")
		}
		emit("recovery_ms", "%.0f", ms(first.Sub(d.StartedAt)))
	}

	// 7. The highest rate the engine keeps up with, and CPU per message.
	if run("sustained") {
		runSustained(root, plat, modelURL)
	}
}
