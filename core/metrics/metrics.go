// Package metrics exposes Switchboard's Prometheus metrics on GET /metrics.
//
// A [Metrics] owns its own prometheus.Registry (never the global default
// one), so several daemons or tests in one process do not collide. The rest
// of the code records what happens through small methods, each meant to be
// one line at its call site. A nil *Metrics is valid: every method is then a
// no-op, so tests and tools pass nil.
//
// Every metric name starts with "switchboard_" and carries its unit
// ("_seconds", "_total"). Label values are channel instance names (bounded
// by the config), outcomes and causes (fixed sets) and operators (bounded
// by the team), so cardinality stays small. Call the per-channel methods only with configured instance names,
// never with a name taken from an unknown request path.
//
// Series:
//
//	switchboard_inbound_events_total{channel,outcome}        counter; outcome accepted|duplicate|bad_signature|malformed|rejected
//	switchboard_webhook_duration_seconds{channel}            histogram, 0.5 ms … 10 s
//	switchboard_outbound_sends_total{channel,outcome}        counter; outcome sent|retry|dead_letter|possibly_delivered
//	switchboard_outbound_retries_total{channel}              counter
//	switchboard_dead_letters_total{channel}                  counter
//	switchboard_handoffs_total{cause}                        counter
//	switchboard_conversation_transitions_total{from,to,cause} counter
//	switchboard_conversations{state}                         gauge, read from the store on scrape
//	switchboard_llm_turn_duration_seconds                    histogram, 10 ms … 120 s
//	switchboard_llm_time_to_first_token_seconds              histogram, 10 ms … 120 s
//	switchboard_plugin_restarts_total{plugin}                counter; plugin is the instance name (a channel instance or "llm")
//	switchboard_engine_inflight_events                       gauge, read on scrape
//	switchboard_outbox_pending_entries                       gauge, read on scrape
//	switchboard_csat_requests_total{operator}                counter, read from the store on scrape
//	switchboard_csat_score{operator}                         summary (_sum, _count) of the ratings given, read on scrape
//	switchboard_build_info{version,goversion}                gauge, always 1
//	go_* and process_*                                       Go runtime and process collectors
package metrics

import (
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-chat/switchboard/core/conversation"
)

// Inbound outcomes: what became of an event (or a whole webhook request the
// plugin refused) arriving on a channel.
const (
	// InboundAccepted is a new event, committed to the inbox.
	InboundAccepted = "accepted"
	// InboundDuplicate is a redelivered event, dropped by its ID.
	InboundDuplicate = "duplicate"
	// InboundBadSignature is a request that failed verification (401/403).
	InboundBadSignature = "bad_signature"
	// InboundMalformed is a request the plugin could not parse (400, 422).
	InboundMalformed = "malformed"
	// InboundRejected is any other request the plugin answered >= 400.
	InboundRejected = "rejected"
)

// Outbound outcomes: what became of one delivery attempt of an outbox entry.
const (
	// OutboundSent is a successful send; the entry left the outbox.
	OutboundSent = "sent"
	// OutboundRetry is a failed attempt that will be retried.
	OutboundRetry = "retry"
	// OutboundDeadLetter is a failed attempt that moved the entry to the
	// dead letters.
	OutboundDeadLetter = "dead_letter"
	// OutboundPossiblyDelivered is an attempt whose outcome is unknown (the
	// send timed out or the daemon stopped mid-send); the entry stays and
	// is sent again with the same idempotency key.
	OutboundPossiblyDelivered = "possibly_delivered"
)

// llmBuckets cover a model turn from 10 ms (a cached or tiny model) to
// 120 s (a slow CPU model near its timeout), in seconds.
func llmBuckets() []float64 {
	return []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120}
}

// webhookBuckets cover a webhook from 0.5 ms to 10 s (the plugin timeout),
// in seconds; most of the time is the group-committed fsync.
func webhookBuckets() []float64 {
	return []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
}

// Options are what a Metrics reads on each scrape. Every func is optional
// (nil: the series is not exported); each is called from the scraping
// goroutine, possibly concurrently with everything else, so it must be safe
// for concurrent use and quick. A func may close over a component created
// after the Metrics (e.g. through an atomic.Pointer) and report 0 until it
// exists.
type Options struct {
	// Version is the daemon's version, shown in switchboard_build_info.
	Version string
	// Channels are the configured channel instances; their inbound,
	// outbound and webhook series are created at zero up front so rates
	// are defined before the first event.
	Channels []string
	// Plugins are the plugin instance names (channels and "llm"); their
	// restart counters start at zero.
	Plugins []string
	// ConversationsByState counts conversations per state, e.g.
	// (*store.Store).CountConversationsByState. The four known states are
	// always exported (0 when absent). An error fails only this series.
	ConversationsByState func() (map[conversation.State]int, error)
	// EngineInflight is the number of inbox events the engine holds in
	// memory (queued in lanes or being processed).
	EngineInflight func() int
	// EngineProcessed is the number of inbox events the engine finished
	// since the start (their effects committed, out of the inbox).
	EngineProcessed func() uint64
	// OutboxPending is the number of entries waiting in the outbox, e.g.
	// a wrapper of (*store.Store).CountOutbox.
	OutboxPending func() int
	// Departments are the configured departments: their series start at
	// zero.
	Departments []string
	// QueueByDepartment counts the conversations waiting for a person per
	// department, on each scrape.
	QueueByDepartment func() (map[string]int, error)
	// Ratings are the satisfaction ratings per operator since the
	// database was created. An error fails only these series.
	Ratings func() ([]RatingTotals, error)
	// StoreCommits is the store writer's work since the start, e.g. from
	// (*store.Store).CommitStats.
	StoreCommits func() StoreCommits
}

// StoreCommits counts the store writer's work: its transactions, the
// queued writes they carried, the pages they wrote and the time it spent.
// Under load, rate(pages_written) / rate(writes) is the disk's cost of a
// write, and a busy rate near 1 means the writer sets the intake's pace.
type StoreCommits struct {
	Commits, Writes, Pages uint64
	Busy                   time.Duration
}

// RatingTotals are one operator's satisfaction ratings: the questions
// asked about their handoffs, and the answers with the sum of their
// scores. Per period and response rates follow in PromQL, e.g. the
// average over a week increase(switchboard_csat_score_sum[7d]) /
// increase(switchboard_csat_score_count[7d]), and the response rate
// increase(switchboard_csat_score_count[7d]) /
// increase(switchboard_csat_requests_total[7d]).
type RatingTotals struct {
	// Operator labels the series: the console account id, or the desk's
	// name for the operator.
	Operator string
	Requests int
	Ratings  int
	ScoreSum int
}

// Metrics records Switchboard's metrics in its own registry. The zero value
// is not usable; build one with New. A nil *Metrics ignores every call.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	inbound        *prometheus.CounterVec
	webhook        *prometheus.HistogramVec
	outbound       *prometheus.CounterVec
	retries        *prometheus.CounterVec
	deadLetters    *prometheus.CounterVec
	handoffs       *prometheus.CounterVec
	transitions    *prometheus.CounterVec
	llmTurn        prometheus.Histogram
	llmFirstTok    prometheus.Histogram
	pluginRestarts *prometheus.CounterVec
	queueWait      *prometheus.HistogramVec
	breaches       *prometheus.CounterVec
}

// New builds the metrics and registers them, with the Go runtime and process
// collectors, in a fresh registry.
func New(opts Options) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		inbound: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_inbound_events_total",
			Help: "Events arriving on channels, by outcome: accepted, duplicate (dropped by ID), bad_signature, malformed, rejected (whole requests the plugin refused count once).",
		}, []string{"channel", "outcome"}),
		webhook: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_webhook_duration_seconds",
			Help:    "Time to handle a webhook request, from arrival to the answer (plugin verification and the durable commit included).",
			Buckets: webhookBuckets(),
		}, []string{"channel"}),
		outbound: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_outbound_sends_total",
			Help: "Delivery attempts of outbox entries, by outcome: sent, retry, dead_letter, possibly_delivered.",
		}, []string{"channel", "outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_outbound_retries_total",
			Help: "Failed delivery attempts that were scheduled for a retry.",
		}, []string{"channel"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_dead_letters_total",
			Help: "Outbox entries moved to the dead letters.",
		}, []string{"channel"}),
		handoffs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_handoffs_total",
			Help: "Conversations handed to a human, by cause (tool, keyword, failures, llm_down, no_model, api).",
		}, []string{"cause"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_conversation_transitions_total",
			Help: "Committed conversation state changes, by from state, to state and cause.",
		}, []string{"from", "to", "cause"}),
		llmTurn: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "switchboard_llm_turn_duration_seconds",
			Help:    "Duration of a model turn, from the request to the end of the streamed answer.",
			Buckets: llmBuckets(),
		}),
		llmFirstTok: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "switchboard_llm_time_to_first_token_seconds",
			Help:    "Time from a model request to the first streamed chunk carrying text or a tool call.",
			Buckets: llmBuckets(),
		}),
		pluginRestarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_plugin_restarts_total",
			Help: "Restarts of supervised plugin processes, by plugin instance name (a channel instance or llm).",
		}, []string{"plugin"}),
		queueWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_queue_wait_seconds",
			Help:    "Time a handed-off conversation waited for an operator to join, by department.",
			Buckets: []float64{5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600},
		}, []string{"department"}),
		breaches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_sla_breaches_total",
			Help: "Waiting conversations that passed their priority's first-response target, by department.",
		}, []string{"department"}),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.inbound, m.webhook, m.outbound, m.retries, m.deadLetters,
		m.handoffs, m.transitions, m.llmTurn, m.llmFirstTok, m.pluginRestarts,
		m.queueWait, m.breaches,
	)
	for _, d := range opts.Departments {
		m.queueWait.WithLabelValues(d)
		m.breaches.WithLabelValues(d)
	}
	if opts.QueueByDepartment != nil {
		reg.MustRegister(&queueCollector{
			count: opts.QueueByDepartment, departments: opts.Departments,
			desc: prometheus.NewDesc("switchboard_queue_length",
				"Conversations waiting for a person, by department, counted in the store on each scrape.", []string{"department"}, nil),
		})
	}
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "switchboard_build_info",
		Help:        "Always 1; labelled with the daemon's version and the Go version it was built with.",
		ConstLabels: prometheus.Labels{"version": opts.Version, "goversion": runtime.Version()},
	})
	buildInfo.Set(1)
	reg.MustRegister(buildInfo)

	if opts.ConversationsByState != nil {
		reg.MustRegister(&stateCollector{
			count: opts.ConversationsByState,
			desc: prometheus.NewDesc("switchboard_conversations",
				"Conversations by current state, counted in the store on each scrape.", []string{"state"}, nil),
		})
	}
	if f := opts.EngineInflight; f != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "switchboard_engine_inflight_events",
			Help: "Inbox events the engine holds in memory: queued in conversation lanes or being processed.",
		}, func() float64 { return float64(f()) }))
	}
	if f := opts.EngineProcessed; f != nil {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "switchboard_engine_processed_events_total",
			Help: "Inbox events the engine finished since the start: their effects committed and they left the inbox.",
		}, func() float64 { return float64(f()) }))
	}
	if f := opts.OutboxPending; f != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "switchboard_outbox_pending_entries",
			Help: "Entries waiting in the durable outbox (due now or scheduled for a retry).",
		}, func() float64 { return float64(f()) }))
	}
	if opts.Ratings != nil {
		reg.MustRegister(&ratingCollector{
			totals: opts.Ratings,
			requests: prometheus.NewDesc("switchboard_csat_requests_total",
				"Satisfaction rating questions asked after an operator's close, by the operator who served.", []string{"operator"}, nil),
			score: prometheus.NewDesc("switchboard_csat_score",
				"Satisfaction ratings given (1 to 5), by the operator who served: _count ratings, _sum their scores.", []string{"operator"}, nil),
		})
	}
	if f := opts.StoreCommits; f != nil {
		reg.MustRegister(&storeCollector{read: f,
			commits: prometheus.NewDesc("switchboard_store_commits_total",
				"Transactions the store's writer committed, each with one fsync.", nil, nil),
			writes: prometheus.NewDesc("switchboard_store_writes_total",
				"Queued writes committed (a webhook's events, an engine turn, a delivery's outcome); under load many share one commit.", nil, nil),
			pages: prometheus.NewDesc("switchboard_store_pages_written_total",
				"Database pages the commits wrote (tree and freelist pages; not the meta page each commit writes).", nil, nil),
			busy: prometheus.NewDesc("switchboard_store_busy_seconds_total",
				"Time the store's writer spent running, committing and syncing writes; a rate near 1 means it sets the intake's pace.", nil, nil),
		})
	}
	for _, ch := range opts.Channels {
		for _, o := range []string{InboundAccepted, InboundDuplicate, InboundBadSignature, InboundMalformed, InboundRejected} {
			m.inbound.WithLabelValues(ch, o)
		}
		for _, o := range []string{OutboundSent, OutboundRetry, OutboundDeadLetter, OutboundPossiblyDelivered} {
			m.outbound.WithLabelValues(ch, o)
		}
		m.retries.WithLabelValues(ch)
		m.deadLetters.WithLabelValues(ch)
		m.webhook.WithLabelValues(ch)
	}
	for _, p := range opts.Plugins {
		m.pluginRestarts.WithLabelValues(p)
	}
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		// A failing collector (the store scan) drops its own series and
		// leaves the rest of the scrape intact.
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      reg,
	})
	return m
}

// Handler serves the metrics in the Prometheus text (or OpenMetrics)
// format; mount it at GET /metrics. A nil *Metrics serves 404.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return m.handler
}

// Registry returns the registry the metrics live in, for registering more
// collectors or for tests.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// InboundEvents adds n events with the given outcome (one of the Inbound*
// constants) on channel.
//
// Call site: wherever events arrive other than through CommitEvents results
// (prefer InboundCommitted and InboundRefused).
func (m *Metrics) InboundEvents(channel, outcome string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.inbound.WithLabelValues(channel, outcome).Add(float64(n))
}

// InboundCommitted records the outcome of a store commit of a channel's
// events: accepted new ones and dropped duplicates.
//
// Call site: httpapi.handleWebhook right after s.store.CommitEvents
// succeeded, as m.InboundCommitted(instance, len(res.Accepted),
// res.Duplicates); likewise in the daemon's storeSink.Deliver for polling
// channels.
func (m *Metrics) InboundCommitted(channel string, accepted, duplicates int) {
	if m == nil {
		return
	}
	m.InboundEvents(channel, InboundAccepted, accepted)
	m.InboundEvents(channel, InboundDuplicate, duplicates)
}

// InboundRefused records a webhook request the plugin answered with an HTTP
// error status: 401 and 403 count as bad_signature, 400 and 422 as
// malformed, any other status >= 400 as rejected. Statuses below 400 are
// ignored. The request counts once, whatever it contained.
//
// Call site: httpapi.handleWebhook in the branch status >= 400, as
// m.InboundRefused(instance, status).
func (m *Metrics) InboundRefused(channel string, status int) {
	if m == nil || status < 400 {
		return
	}
	m.InboundEvents(channel, InboundOutcomeOfStatus(status), 1)
}

// InboundOutcomeOfStatus maps a plugin's HTTP error status to an inbound
// outcome, as InboundRefused does.
func InboundOutcomeOfStatus(status int) string {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return InboundBadSignature
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return InboundMalformed
	}
	return InboundRejected
}

// ObserveWebhook records the time since start spent handling a webhook of
// channel.
//
// Call site: httpapi.handleWebhook, right after the unknown-instance 404
// check, as defer s.metrics.ObserveWebhook(instance, time.Now()) (defer
// evaluates time.Now() at once, so start is the request's start).
func (m *Metrics) ObserveWebhook(channel string, start time.Time) {
	if m == nil {
		return
	}
	m.webhook.WithLabelValues(channel).Observe(time.Since(start).Seconds())
}

// OutboundSend records one delivery attempt on channel with an Outbound*
// outcome. OutboundRetry also counts in switchboard_outbound_retries_total
// and OutboundDeadLetter in switchboard_dead_letters_total, so each branch
// needs only this call.
//
// Call sites, in engine.deliverer.attempt with channel e.Instance:
// OutboundSent after the delete committed; OutboundDeadLetter after the
// dead-letter transaction committed; OutboundRetry after scheduling the
// retry; OutboundPossiblyDelivered in the ctx.Err() != nil branch (shutdown
// cut the send short) and, in place of OutboundRetry, when the failed send
// hit SendTimeout (errors.Is(err, context.DeadlineExceeded)): the platform
// may have the message, and the entry is sent again with the same ID.
func (m *Metrics) OutboundSend(channel, outcome string) {
	if m == nil {
		return
	}
	m.outbound.WithLabelValues(channel, outcome).Inc()
	switch outcome {
	case OutboundRetry:
		m.retries.WithLabelValues(channel).Inc()
	case OutboundDeadLetter:
		m.deadLetters.WithLabelValues(channel).Inc()
	}
}

// Handoff counts one conversation handed to a human for cause.
//
// Call site: prefer Transitions after a commit; use Handoff where a handoff
// is known to be committed without a transitions slice at hand.
func (m *Metrics) Handoff(cause string) {
	if m == nil {
		return
	}
	m.handoffs.WithLabelValues(cause).Inc()
}

// Transitions counts committed state changes: every one in
// switchboard_conversation_transitions_total, and those entering
// waiting_human also as a handoff by their cause.
//
// Call site: engine.Engine.commit after st.Update returned nil, as
// e.metrics.Transitions(ef.transitions). Counting after the commit (not in
// engine.handoff) keeps a retried or failed commit from counting twice.
func (m *Metrics) Transitions(ts []conversation.Transition) {
	if m == nil {
		return
	}
	for _, t := range ts {
		m.transitions.WithLabelValues(string(t.From), string(t.To), string(t.Cause)).Inc()
		if t.To == conversation.WaitingHuman {
			m.handoffs.WithLabelValues(string(t.Cause)).Inc()
		}
	}
}

// ObserveLLMTurn records a whole model turn's duration.
func (m *Metrics) ObserveLLMTurn(d time.Duration) {
	if m == nil {
		return
	}
	m.llmTurn.Observe(d.Seconds())
}

// ObserveLLMFirstToken records a model turn's time to its first chunk.
func (m *Metrics) ObserveLLMFirstToken(d time.Duration) {
	if m == nil {
		return
	}
	m.llmFirstTok.Observe(d.Seconds())
}

// StartLLMTurn starts timing a model turn. Call FirstToken on the returned
// timer from the stream callback (only the first call counts) and Done when
// the turn ends; a nil *Metrics returns a nil timer, whose methods do
// nothing.
//
// Call site: engine.askModel right before llm.Chat, as
// turn := e.metrics.StartLLMTurn(); defer turn.Done(); and in the
// ChatStreamFunc, turn.FirstToken() when the chunk has text or tool calls.
func (m *Metrics) StartLLMTurn() *LLMTurn {
	if m == nil {
		return nil
	}
	return &LLMTurn{m: m, start: time.Now()}
}

// LLMTurn times one model turn; see StartLLMTurn. Its methods are safe for
// concurrent use and a nil *LLMTurn ignores them.
type LLMTurn struct {
	m     *Metrics
	start time.Time
	first sync.Once
	done  sync.Once
}

// FirstToken records the time to the first token; later calls do nothing.
func (t *LLMTurn) FirstToken() {
	if t == nil {
		return
	}
	t.first.Do(func() { t.m.ObserveLLMFirstToken(time.Since(t.start)) })
}

// Done records the turn's duration; later calls do nothing.
func (t *LLMTurn) Done() {
	if t == nil {
		return
	}
	t.done.Do(func() { t.m.ObserveLLMTurn(time.Since(t.start)) })
}

// PluginRestart counts one restart of a supervised plugin instance. The
// label is named plugin, not instance, because Prometheus adds its own
// instance label (the scraped target) to every series.
//
// Call site: pluginhost.Instance.supervise right after
// i.setState(StateRestarting, err), as
// i.host.cfg.Metrics.PluginRestart(i.spec.Instance) (or through a
// pluginhost.Config.OnRestart hook the daemon points at it).
func (m *Metrics) PluginRestart(instance string) {
	if m == nil {
		return
	}
	m.pluginRestarts.WithLabelValues(instance).Inc()
}

// ObserveQueueWait records how long a conversation of a department waited
// for an operator. Call it after the commit of the join.
func (m *Metrics) ObserveQueueWait(department string, d time.Duration) {
	if m == nil {
		return
	}
	m.queueWait.WithLabelValues(department).Observe(max(d, 0).Seconds())
}

// ServiceLevelBreach counts a first-response target passed in a
// department. Call it after the commit of the breach.
func (m *Metrics) ServiceLevelBreach(department string) {
	if m == nil {
		return
	}
	m.breaches.WithLabelValues(department).Inc()
}

// queueCollector exports switchboard_queue_length{department}: every
// configured department, zeros included, and any other found waiting.
type queueCollector struct {
	count       func() (map[string]int, error)
	departments []string
	desc        *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	counts, err := c.count()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	seen := map[string]bool{}
	for _, d := range c.departments {
		seen[d] = true
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[d]), d)
	}
	for d, n := range counts {
		if !seen[d] {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), d)
		}
	}
}

// stateCollector exports switchboard_conversations{state} from a count
// computed on each scrape.
type stateCollector struct {
	count func() (map[conversation.State]int, error)
	desc  *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	counts, err := c.count()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for _, s := range conversation.States { // every state, zeros included
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[s]), string(s))
	}
}

// ratingCollector exports the satisfaction ratings from totals read on
// each scrape.
type ratingCollector struct {
	totals          func() ([]RatingTotals, error)
	requests, score *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *ratingCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.requests
	ch <- c.score
}

// Collect implements prometheus.Collector.
func (c *ratingCollector) Collect(ch chan<- prometheus.Metric) {
	totals, err := c.totals()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.requests, err)
		return
	}
	for _, t := range totals {
		ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, float64(t.Requests), t.Operator)
		ch <- prometheus.MustNewConstSummary(c.score, uint64(t.Ratings), float64(t.ScoreSum), nil, t.Operator)
	}
}

// storeCollector exports the store writer's counters, read once a scrape.
type storeCollector struct {
	read                         func() StoreCommits
	commits, writes, pages, busy *prometheus.Desc
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.commits
	ch <- c.writes
	ch <- c.pages
	ch <- c.busy
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.read()
	ch <- prometheus.MustNewConstMetric(c.commits, prometheus.CounterValue, float64(s.Commits))
	ch <- prometheus.MustNewConstMetric(c.writes, prometheus.CounterValue, float64(s.Writes))
	ch <- prometheus.MustNewConstMetric(c.pages, prometheus.CounterValue, float64(s.Pages))
	ch <- prometheus.MustNewConstMetric(c.busy, prometheus.CounterValue, s.Busy.Seconds())
}
