// Package daemon wires Switchboard together: it opens the store, starts the
// plugins, serves HTTP, and shuts everything down in order.
package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/accounts"
	"github.com/switchboard-chat/switchboard/core/alerts"
	"github.com/switchboard-chat/switchboard/core/config"
	"github.com/switchboard-chat/switchboard/core/console"
	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/crm"
	"github.com/switchboard-chat/switchboard/core/engine"
	"github.com/switchboard-chat/switchboard/core/events"
	"github.com/switchboard-chat/switchboard/core/httpapi"
	"github.com/switchboard-chat/switchboard/core/httplimit"
	"github.com/switchboard-chat/switchboard/core/live"
	"github.com/switchboard-chat/switchboard/core/metrics"
	"github.com/switchboard-chat/switchboard/core/pluginhost"
	"github.com/switchboard-chat/switchboard/core/routing"
	"github.com/switchboard-chat/switchboard/core/stats"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/core/webchat"
	"github.com/switchboard-chat/switchboard/core/webhooks"
	"github.com/switchboard-chat/switchboard/sdk"
)

// Daemon is a running Switchboard.
type Daemon struct {
	// Strict refuses to start when any plugin fails its first start;
	// otherwise a plugin that rejects its options is marked failed and
	// the rest of the daemon starts.
	Strict bool

	cfg     *config.Config
	log     *logrus.Logger
	version string
}

// New prepares a daemon from a validated config.
func New(cfg *config.Config, log *logrus.Logger, version string) *Daemon {
	return &Daemon{cfg: cfg, log: log, version: version}
}

// Run serves until ctx ends, then stops taking requests, lets in-flight work
// finish, stops the plugins and closes the database.
func (d *Daemon) Run(ctx context.Context) error {
	// Take the port first: a daemon that cannot listen should fail before
	// it starts plugins and work.
	ln, err := net.Listen("tcp", d.cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("server.listen %s: %w", d.cfg.Server.Listen, err)
	}
	defer ln.Close()
	if err := d.servePprof(ctx); err != nil {
		return err
	}
	st, err := store.Open(d.cfg.DBPath(), store.Options{CommitDelay: d.cfg.Server.CommitDelay})
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			d.log.WithError(err).Error("close database")
		}
	}()

	if err := st.SyncConfigWebhooks(ctx, d.configWebhooks()); err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}

	alerter := alerts.New(d.cfg.Alerts.WebhookURL, d.log)
	defer alerter.Wait()
	var eng *engine.Engine // set below; read only by scrapes, which start later
	m := metrics.New(metrics.Options{
		Version:              d.version,
		Channels:             slices.Sorted(maps.Keys(d.cfg.Channels)),
		Plugins:              d.pluginInstances(),
		ConversationsByState: st.CountConversationsByState,
		EngineInflight:       func() int { return eng.Inflight() },
		EngineProcessed:      func() uint64 { return eng.Processed() },
		OutboxPending: func() int {
			n, _ := st.CountOutbox()
			return n
		},
		Departments: d.departmentNames(),
		QueueByDepartment: func() (map[string]int, error) {
			return st.WaitingByDepartment(d.cfg.Routing.DefaultDepartment)
		},
		Ratings: func() ([]metrics.RatingTotals, error) { return ratingTotals(st) },
		StoreCommits: func() metrics.StoreCommits {
			c := st.CommitStats()
			return metrics.StoreCommits{Commits: c.Commits, Writes: c.Writes, Pages: c.Pages, Busy: c.Busy}
		},
	})
	host := pluginhost.New(pluginhost.Config{
		Dir:      d.cfg.Plugins.Dir,
		Version:  d.version,
		Metrics:  m,
		LogLevel: d.cfg.Log.Level,
		// A webhook body the server let in always fits the call that
		// hands it to its plugin.
		MessageLimit: sdk.MessageLimit(d.cfg.Server.MaxBodyBytes),
		Lenient:      !d.Strict,
		Sink:         func(instance string) sdk.EventSink { return storeSink{st: st, channel: instance, metrics: m} },
		OnGiveUp: func(instance string, err error) {
			alerter.Send(alerts.PluginFailed, err.Error(), map[string]string{"plugin": instance})
		},
	}, d.log)
	if err := host.Start(ctx, d.pluginSpecs()); err != nil {
		return err
	}
	defer host.Stop()

	knowledge, err := d.openKB(ctx, st, host)
	if err != nil {
		return err
	}

	var models engine.Models
	if d.cfg.LLM != nil {
		models = host
	}
	// Typing and "the bot is thinking" for the push connections.
	signals := live.NewHub()
	ecfg := d.engineConfig()
	answers := newKnowledge(knowledge, d.cfg.KB)
	ecfg.Knowledge = answers
	ecfg.Delivery.Alerts = alerter
	ecfg.Metrics = m
	ecfg.Thinking = func(convID string, on bool) {
		signals.Publish(live.Signal{Kind: live.Typing, ConversationID: convID, From: live.FromBot, Data: on})
	}
	if ecfg.Hours, err = d.cfg.Hours.Schedule(); err != nil {
		return fmt.Errorf("hours: %w", err)
	}
	// The console starts after the engine; until it serves, nobody is
	// online on it.
	var consoleDesk atomic.Pointer[console.Server]
	ecfg.OperatorsOnline = func() bool {
		c := consoleDesk.Load()
		return c != nil && c.AnyoneOnline()
	}
	ecfg.ShareProfile = d.cfg.CRM.ShareWithModel
	eng = engine.New(ecfg, st, host, models, d.log)
	if err := eng.Start(ctx); err != nil {
		return err
	}
	// Stops the engine on early returns; after a normal shutdown it is a
	// no-op (Stop was already called with the shutdown deadline).
	defer eng.Stop(context.Background())

	if u := d.cfg.CRM.LookupURL; u != "" {
		lookups := crm.New(crm.Config{URL: u, Timeout: d.cfg.CRM.Timeout}, st, d.log)
		lctx, stopLookups := context.WithCancel(context.WithoutCancel(ctx))
		if err := lookups.Start(lctx); err != nil {
			stopLookups()
			return err
		}
		defer func() { stopLookups(); lookups.Wait() }()
	}

	if len(d.cfg.API.Keys) > 0 {
		d.log.Warn("api.keys from the config are full-scope keys meant for quick starts; create scoped keys with `switchboard apikey create` and remove them")
	}
	operators := accounts.New(st, time.Now)
	api, err := httpapi.New(httpapi.Config{
		MaxBodyBytes:   d.cfg.Server.MaxBodyBytes,
		APIKeys:        d.cfg.API.Keys,
		AllowIPs:       d.cfg.API.AllowIPs,
		TrustedProxies: d.cfg.API.TrustedProxies,
		OAuthTokenTTL:  d.cfg.OAuth.TokenTTL,
		Metrics:        m,
		Stats: func(from, to time.Time) (any, error) {
			return stats.ComputeFor(st, from, to, d.cfg.Routing.DefaultDepartment)
		},
		Operators: operators,
		KB:        knowledge,
		Tickets:   ticketDesk{Store: st, Engine: eng},
	}, st, host, eng, readiness(host), d.log)
	if err != nil {
		return err
	}
	routes := http.NewServeMux()
	routes.Handle("/", api)
	var desk *console.Server
	if d.cfg.Console.Enabled {
		if desk, err = d.console(st, eng, signals, operators, alerter, answers); err != nil {
			return err
		}
		consoleDesk.Store(desk)
		routes.Handle("/op/", desk)
		routes.Handle("/console/", desk)
		routes.Handle("/console", desk)
		go desk.Run(ctx)
	}
	if d.cfg.WebChat.Enabled {
		wc, err := d.webChat(st, eng, signals)
		if err != nil {
			return err
		}
		// Its event streams end with ctx, before the server's shutdown
		// waits for open connections.
		go wc.Run(ctx)
		routes.Handle(webchat.Prefix, wc)
		routes.Handle(strings.TrimSuffix(webchat.Prefix, "/"), wc)
	}
	// Bodies must arrive within read_timeout and answers leave within
	// write_timeout (long polls and streams clear theirs); connections
	// beyond max_connections are served health checks only.
	sc := d.cfg.Server
	bodies := httplimit.NewBodies(sc.ReadTimeout)
	srv := &http.Server{
		Handler:           httplimit.HealthOnly(bodies.Handler(routes), "/healthz", "/readyz"),
		ReadHeaderTimeout: min(10*time.Second, sc.ReadTimeout),
		WriteTimeout:      sc.WriteTimeout,
		IdleTimeout:       120 * time.Second,
		ConnContext:       httplimit.ConnContext,
	}
	ln = httplimit.Limit(ln, sc.MaxConnections)
	d.warnOpenFiles()
	srv.RegisterOnShutdown(api.CloseStreams)
	// Bodies still arriving get 408 at once: slow clients do not hold
	// the shutdown up.
	srv.RegisterOnShutdown(bodies.Expire)
	if desk != nil {
		srv.RegisterOnShutdown(desk.Close)
	}
	served := make(chan error, 1)
	go func() {
		if d.cfg.Server.TLSCert != "" {
			served <- srv.ServeTLS(ln, d.cfg.Server.TLSCert, d.cfg.Server.TLSKey)
			return
		}
		served <- srv.Serve(ln)
	}()
	d.log.WithFields(logrus.Fields{"listen": ln.Addr().String(), "version": d.version}).Info("switchboard is serving")
	if desk != nil {
		d.announceSetup(ctx, desk)
	}

	go d.purgeSeen(ctx, st)
	go d.purgeEvents(ctx, st)
	if d.cfg.Retention.Transcripts > 0 {
		go d.purgeTranscripts(ctx, st)
	}
	if d.cfg.LLM != nil {
		go d.watchModel(ctx, host, alerter)
	}

	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	}
	d.log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), d.cfg.Server.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		d.log.WithError(err).Warn("http shutdown did not finish in time; closing the remaining connections")
		_ = srv.Close()
	}
	// Turns still running finish and commit; what does not finish in time
	// stays in the inbox and runs again on the next start. The engine gets
	// a deadline of its own: slow HTTP clients may have used up the
	// server's.
	ectx, ecancel := context.WithTimeout(context.Background(), d.cfg.Server.ShutdownTimeout)
	defer ecancel()
	eng.Stop(ectx)
	return nil
}

// webChat builds the built-in web chat from the [webchat] section.
func (d *Daemon) webChat(st *store.Store, eng *engine.Engine, signals *live.Hub) (*webchat.Server, error) {
	w := d.cfg.WebChat
	trusted, err := httpapi.ParsePrefixes(d.cfg.API.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("api.trusted_proxies: %w", err)
	}
	return webchat.New(webchat.Config{
		AllowedOrigins:  slices.Clone(w.AllowedOrigins),
		Title:           w.Title,
		Color:           w.Color,
		IdentitySecret:  w.IdentitySecret,
		MaxMessageChars: w.MaxMessageChars,
		RatePerVisitor:  w.RatePerVisitor,
		RatePerAddress:  w.RatePerAddress,
		TrustedProxies:  trusted,
	}, st, eng, signals, d.log)
}

// console builds the operators' console.
func (d *Daemon) console(st *store.Store, eng *engine.Engine, signals *live.Hub, operators *accounts.Accounts, alerter *alerts.Alerter, knowledge console.Knowledge) (*console.Server, error) {
	trusted, err := httpapi.ParsePrefixes(d.cfg.API.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("api.trusted_proxies: %w", err)
	}
	return console.New(console.Config{
		SessionLifetime: d.cfg.Console.SessionLifetime,
		PublicURL:       d.cfg.BaseURL(),
		TrustedProxies:  trusted,
		MaxBodyBytes:    d.cfg.Server.MaxBodyBytes,
		Routing:         d.consoleRouting(alerter),
		Knowledge:       knowledge,
	}, st, eng, signals, operators, d.log)
}

// consoleRouting is how the console hands out its queue.
func (d *Daemon) consoleRouting(alerter *alerts.Alerter) console.Routing {
	r := d.cfg.Routing
	out := console.Routing{
		AutoAssign: r.AutoAssign, Default: r.DefaultDepartment, MaxChats: r.MaxChats,
		OperatorMaxChats: r.OperatorMaxChats, FirstResponse: r.FirstResponse.Of, Alert: alerter.Send,
	}
	for _, dep := range d.cfg.DepartmentList() {
		out.Departments = append(out.Departments, console.Department{Name: dep.Name, Operators: dep.Operators})
	}
	return out
}

// announceSetup logs the one-time link that creates the first console
// administrator, while there is no operator account.
func (d *Daemon) announceSetup(ctx context.Context, desk *console.Server) {
	link, expires, ok, err := desk.SetupLink(ctx)
	if err != nil {
		d.log.WithError(err).Error("make the console setup link")
		return
	}
	if ok {
		d.log.WithFields(logrus.Fields{"setup_url": link, "expires": expires.Format(time.RFC3339)}).
			Warn("no console operator yet: open the setup_url once to create the first administrator " +
				"(or run `switchboard operator add`); it works once and expires")
	}
}

// routingTable is the classifier's table from [[departments]] and
// [routing].
func (d *Daemon) routingTable() *routing.Table {
	t := d.cfg.RoutingTable()
	return &t
}

// departmentNames lists the departments in force.
func (d *Daemon) departmentNames() []string {
	var out []string
	for _, dep := range d.cfg.DepartmentList() {
		out = append(out, dep.Name)
	}
	return out
}

// deskIDs are the departments' desk-side ids, by name.
func (d *Daemon) deskIDs() map[string]string {
	out := map[string]string{}
	for _, dep := range d.cfg.DepartmentList() {
		if dep.DeskID != "" {
			out[dep.Name] = dep.DeskID
		}
	}
	return out
}

// ticketDesk serves /v1/tickets: the tickets are the store's, comments go
// through the engine, which delivers the public ones.
type ticketDesk struct {
	*store.Store
	*engine.Engine
}

func (d *Daemon) engineConfig() engine.Config {
	b, h := d.cfg.Bot, d.cfg.Handoff
	return engine.Config{
		Rules: conversation.Policy{
			Desk:           h.Desk,
			Keywords:       h.Keywords,
			CancelKeywords: h.CancelKeywords,
			MaxBotFailures: h.MaxBotFailures,
			QueueTimeout:   h.QueueTimeout,
			ReturnToBot:    h.ReturnToBot,
			Rating:         conversation.RatingPolicy{Ask: d.cfg.CSAT.Enabled, Window: d.cfg.CSAT.Window},
			Tickets:        ticketCauses(h.WhenUnavailable),
			Messages: conversation.Messages{
				Handoff:        b.HandoffMessage,
				Fallback:       b.FallbackMessage,
				Greeting:       b.Greeting,
				Unsupported:    b.UnsupportedMessage,
				Cancel:         h.CancelMessage,
				Timeout:        h.TimeoutMessage,
				Closed:         h.ClosedMessage,
				Missed:         h.MissedMessage,
				Ticket:         h.TicketMessage,
				OffHoursTicket: h.OffHoursTicketMessage,
				OffHours:       h.OffHoursMessage,
				RateAsk:        d.cfg.CSAT.Question,
				RateThanks:     d.cfg.CSAT.Thanks,
			},
		},
		Routing:         d.routingTable(),
		DeskIDs:         d.deskIDs(),
		SystemPrompt:    b.SystemPrompt,
		SuggestMessage:  b.SuggestMessage,
		HistoryMessages: b.HistoryMessages,
		Concurrency:     b.Concurrency,
		GatherWindow:    b.GatherWindow,
		Delivery: engine.DeliveryConfig{
			MaxAttempts: d.cfg.Delivery.MaxAttempts,
			MaxAge:      d.cfg.Delivery.MaxAge,
			Webhooks: engine.WebhookDelivery{
				Client:     webhooks.NewClient(d.cfg.Events.WebhookTimeout, nil, d.version),
				RetryFor:   d.cfg.Events.RetryFor,
				PauseAfter: d.cfg.Events.PauseAfter,
			},
		},
	}
}

// configWebhooks are the config file's [[webhooks]] subscriptions.
func (d *Daemon) configWebhooks() []store.Webhook {
	var out []store.Webhook
	for _, w := range d.cfg.Webhooks {
		sub := store.Webhook{URL: w.URL, Secret: w.Secret, PreviousSecret: w.PreviousSecret}
		for _, t := range w.Events {
			sub.Events = append(sub.Events, events.Type(t))
		}
		out = append(out, sub)
	}
	return out
}

// eventsPurgeEvery is how often events older than events.retention are
// deleted.
const eventsPurgeEvery = time.Hour

// purgeEvents deletes the events (and webhook attempts) older than
// events.retention, at start and then hourly.
func (d *Daemon) purgeEvents(ctx context.Context, st *store.Store) {
	for {
		if n, err := st.PurgeEvents(ctx, time.Now().Add(-d.cfg.Events.Retention)); err != nil {
			if ctx.Err() == nil {
				d.log.WithError(err).Warn("purge old events")
			}
		} else if n > 0 {
			d.log.WithField("purged", n).Info("purged events older than events.retention")
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(eventsPurgeEvery):
		}
	}
}

// purgeTranscripts deletes transcript messages older than the retention,
// at start and then daily.
func (d *Daemon) purgeTranscripts(ctx context.Context, st *store.Store) {
	for {
		before := time.Now().Add(-d.cfg.Retention.Transcripts)
		if n, err := st.PurgeTranscripts(ctx, before); err != nil {
			d.log.WithError(err).Warn("purge old transcripts")
		} else if n > 0 {
			d.log.WithField("purged", n).Info("purged transcript messages older than retention.transcripts")
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(24 * time.Hour):
		}
	}
}

// watchModel raises an alert when the model server has been unreachable
// for longer than alerts.llm_down_after, once per outage.
func (d *Daemon) watchModel(ctx context.Context, host *pluginhost.Host, alerter *alerts.Alerter) {
	var downSince time.Time
	alerted := false
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		inst := host.Instance(pluginhost.LLMInstance)
		if inst == nil {
			return
		}
		st := inst.Status()
		if st.State == pluginhost.StateUp && st.Backend == "ok" {
			downSince, alerted = time.Time{}, false
			continue
		}
		if downSince.IsZero() {
			downSince = time.Now()
		}
		if !alerted && time.Since(downSince) >= d.cfg.Alerts.LLMDownAfter {
			alerted = true
			reason := st.Backend
			if st.State != pluginhost.StateUp {
				reason = "plugin " + st.State + ": " + st.Error
			}
			alerter.Send(alerts.LLMDown, "the model has been unavailable for "+time.Since(downSince).Round(time.Second).String()+": "+reason, nil)
		}
	}
}

// pluginInstances names every plugin instance the config starts.
func (d *Daemon) pluginInstances() []string {
	var names []string
	for _, s := range d.pluginSpecs() {
		names = append(names, s.Instance)
	}
	return names
}

func (d *Daemon) pluginSpecs() []pluginhost.Spec {
	var specs []pluginhost.Spec
	for name, ch := range d.cfg.Channels {
		specs = append(specs, pluginhost.Spec{
			Instance: name, Plugin: ch.Plugin, Kind: sdk.KindChannel,
			Options: ch.Options, SHA256: d.cfg.Plugins.SHA256[ch.Plugin],
		})
	}
	if d.cfg.LLM != nil {
		specs = append(specs, pluginhost.Spec{
			Instance: pluginhost.LLMInstance, Plugin: d.cfg.LLM.Plugin, Kind: sdk.KindLLM,
			Options: d.llmOptions(), SHA256: d.cfg.Plugins.SHA256[d.cfg.LLM.Plugin],
		})
	}
	return specs
}

// readiness is ready when every plugin runs and its backend answers.
func readiness(host *pluginhost.Host) httpapi.Readiness {
	return func() (bool, any) {
		statuses := host.Status()
		ready := true
		for _, st := range statuses {
			if st.State != pluginhost.StateUp || (st.Backend != "" && st.Backend != "ok") {
				ready = false
			}
		}
		return ready, statuses
	}
}

// purgeSeen forgets expired dedup entries now and then.
func (d *Daemon) purgeSeen(ctx context.Context, st *store.Store) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := st.PurgeSeen(ctx); err != nil {
				d.log.WithError(err).Warn("purge seen event ids")
			} else if n > 0 {
				d.log.WithField("purged", n).Debug("forgot expired event ids")
			}
		}
	}
}

// storeSink commits a polling channel's events.
type storeSink struct {
	st      *store.Store
	channel string
	metrics *metrics.Metrics
}

// Deliver implements sdk.EventSink.
func (s storeSink) Deliver(ctx context.Context, events []sdk.Event) error {
	res, err := s.st.CommitEvents(ctx, s.channel, events)
	if err == nil {
		s.metrics.InboundCommitted(s.channel, len(res.Accepted), res.Duplicates)
	}
	return err
}

// ratingTotals adds up the satisfaction ratings per operator (console
// account id, else the desk's name, else "unknown") for /metrics.
func ratingTotals(st *store.Store) ([]metrics.RatingTotals, error) {
	by := map[string]*metrics.RatingTotals{}
	err := st.ScanRatings(func(r store.Rating) error {
		op := cmp.Or(r.Operator.ID, r.Operator.Name, "unknown")
		t := by[op]
		if t == nil {
			t = &metrics.RatingTotals{Operator: op}
			by[op] = t
		}
		t.Requests++
		if r.Score > 0 {
			t.Ratings++
			t.ScoreSum += r.Score
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]metrics.RatingTotals, 0, len(by))
	for _, op := range slices.Sorted(maps.Keys(by)) {
		out = append(out, *by[op])
	}
	return out, nil
}

// Check runs the checks serve runs before it serves, changing nothing:
// the data folder and TLS files, and each plugin's binary and options (the
// plugin is started, asked to check its options in a dry run, and
// stopped). It returns every problem, by the key it concerns.
func (d *Daemon) Check(ctx context.Context) []config.Problem {
	problems := d.cfg.CheckFiles()
	host := pluginhost.New(pluginhost.Config{
		Dir: d.cfg.Plugins.Dir, Version: d.version, MessageLimit: sdk.MessageLimit(d.cfg.Server.MaxBodyBytes),
	}, d.log)
	for instance, err := range host.Check(ctx, d.pluginSpecs()) {
		key := "channels." + instance
		if instance == pluginhost.LLMInstance {
			key = "llm"
		}
		var rejected *pluginhost.OptionsError
		if errors.As(err, &rejected) {
			key += ".options"
		} else {
			key += ".plugin"
		}
		problems = append(problems, config.Problem{Key: key, Message: err.Error()})
	}
	slices.SortFunc(problems, func(a, b config.Problem) int { return strings.Compare(a.Key, b.Key) })
	return problems
}

// fdHeadroom is the descriptors the daemon needs besides client
// connections: the database, plugin pipes and connections, outgoing calls.
const fdHeadroom = 128

// warnOpenFiles warns when server.max_connections leaves too little of the
// process's open-files limit for everything else.
func (d *Daemon) warnOpenFiles() {
	limit, ok := openFileLimit()
	want := uint64(d.cfg.Server.MaxConnections + httplimit.HealthReserve + fdHeadroom)
	if ok && limit < want {
		d.log.WithFields(logrus.Fields{"open_files_limit": limit, "max_connections": d.cfg.Server.MaxConnections}).
			Warnf("server.max_connections is too high for the open-files limit: lower it to %d or raise the limit (ulimit -n) to %d", max(int64(limit)-int64(httplimit.HealthReserve+fdHeadroom), 1), want)
	}
}

// ticketCauses are the handoff causes that open a ticket, from
// handoff.when_unavailable's cases: the desk answering that it has no
// operator is the console's "nobody online" for another desk.
func ticketCauses(u config.Unavailable) map[conversation.Cause]bool {
	ticket := func(choice string) bool { return choice == config.UnavailableTicket }
	return map[conversation.Cause]bool{
		conversation.CauseOffHours:     ticket(u.OffHours),
		conversation.CauseNoOperator:   ticket(u.NoOperator),
		conversation.CauseMissed:       ticket(u.NoOperator),
		conversation.CauseDeskFailed:   ticket(u.DeskUnreachable),
		conversation.CauseQueueTimeout: ticket(u.QueueTimeout),
	}
}
