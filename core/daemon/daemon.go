// Package daemon wires Switchboard together: it opens the store, starts the
// plugins, serves HTTP, and shuts everything down in order.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/accounts"
	"github.com/switchboard-chat/switchboard/core/alerts"
	"github.com/switchboard-chat/switchboard/core/config"
	"github.com/switchboard-chat/switchboard/core/console"
	"github.com/switchboard-chat/switchboard/core/conversation"
	"github.com/switchboard-chat/switchboard/core/engine"
	"github.com/switchboard-chat/switchboard/core/events"
	"github.com/switchboard-chat/switchboard/core/httpapi"
	"github.com/switchboard-chat/switchboard/core/live"
	"github.com/switchboard-chat/switchboard/core/metrics"
	"github.com/switchboard-chat/switchboard/core/pluginhost"
	"github.com/switchboard-chat/switchboard/core/stats"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/core/webchat"
	"github.com/switchboard-chat/switchboard/core/webhooks"
	"github.com/switchboard-chat/switchboard/sdk"
)

// Daemon is a running Switchboard.
type Daemon struct {
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
	st, err := store.Open(d.cfg.DBPath(), store.Options{})
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
	})
	host := pluginhost.New(pluginhost.Config{
		Dir:      d.cfg.Plugins.Dir,
		Version:  d.version,
		Metrics:  m,
		LogLevel: d.cfg.Log.Level,
		Sink:     func(instance string) sdk.EventSink { return storeSink{st: st, channel: instance, metrics: m} },
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
	ecfg.Knowledge = newKnowledge(knowledge, d.cfg.KB)
	ecfg.Delivery.Alerts = alerter
	ecfg.Metrics = m
	ecfg.Thinking = func(convID string, on bool) {
		signals.Publish(live.Signal{Kind: live.Typing, ConversationID: convID, From: live.FromBot, Data: on})
	}
	eng = engine.New(ecfg, st, host, models, d.log)
	if err := eng.Start(ctx); err != nil {
		return err
	}
	// Stops the engine on early returns; after a normal shutdown it is a
	// no-op (Stop was already called with the shutdown deadline).
	defer eng.Stop(context.Background())

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
			return stats.Compute(st, from, to)
		},
		Operators: operators,
		KB:        knowledge,
	}, st, host, eng, readiness(host), d.log)
	if err != nil {
		return err
	}
	routes := http.NewServeMux()
	routes.Handle("/", api)
	var desk *console.Server
	if d.cfg.Console.Enabled {
		if desk, err = d.console(st, eng, signals, operators); err != nil {
			return err
		}
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
	srv := &http.Server{
		Handler:           routes,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	srv.RegisterOnShutdown(api.CloseStreams)
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
		d.log.WithError(err).Warn("http shutdown did not finish in time")
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
func (d *Daemon) console(st *store.Store, eng *engine.Engine, signals *live.Hub, operators *accounts.Accounts) (*console.Server, error) {
	trusted, err := httpapi.ParsePrefixes(d.cfg.API.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("api.trusted_proxies: %w", err)
	}
	return console.New(console.Config{
		SessionLifetime: d.cfg.Console.SessionLifetime,
		PublicURL:       d.cfg.BaseURL(),
		TrustedProxies:  trusted,
		MaxBodyBytes:    d.cfg.Server.MaxBodyBytes,
	}, st, eng, signals, operators, d.log)
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
			Messages: conversation.Messages{
				Handoff:     b.HandoffMessage,
				Fallback:    b.FallbackMessage,
				Greeting:    b.Greeting,
				Unsupported: b.UnsupportedMessage,
				Cancel:      h.CancelMessage,
				Timeout:     h.TimeoutMessage,
				Closed:      h.ClosedMessage,
				Missed:      h.MissedMessage,
			},
		},
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
