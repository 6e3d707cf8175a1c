package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/sdk"
)

// handleWebhookProbe answers the GET/HEAD probes platforms send to check a
// webhook URL.
func (s *Server) handleWebhookProbe(w http.ResponseWriter, r *http.Request) {
	instance := r.PathValue("instance")
	if _, ok, _ := s.channels.Channel(instance); !ok {
		writeError(w, http.StatusNotFound, "not_found", "no channel instance named "+strconv.Quote(truncateParam(instance)))
		return
	}
	w.WriteHeader(http.StatusOK)
}

// handleWebhook passes the raw request to the instance's plugin, commits the
// events it returns, and only then writes the plugin's answer: a 2xx tells
// the platform the events are safe.
func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) {
	instance := r.PathValue("instance")
	ch, ok, err := s.channels.Channel(instance)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "no channel instance named "+strconv.Quote(truncateParam(instance)))
		return
	}
	defer s.cfg.Metrics.ObserveWebhook(instance, time.Now())
	// Built when a line is logged: the common path logs nothing.
	log := func() logrus.FieldLogger { return s.log.WithField("channel", instance) }
	body, rerr := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if rerr != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(rerr, &tooLarge) {
			s.rejections.reject(instance, "too_large", nil)
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", "request body exceeds the limit")
			return
		}
		log().WithError(rerr).Debug("webhook body not received")
		writeError(w, http.StatusBadRequest, "bad_request", "could not read the body")
		return
	}
	if errors.Is(err, sdk.ErrPluginFailed) {
		// Given up on: retrying soon does not help, so no Retry-After.
		s.rejections.reject(instance, "plugin_failed", logrus.Fields{"error": err.Error()})
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the channel's plugin failed and is stopped until the daemon restarts")
		return
	}
	if err != nil {
		// The plugin is restarting; the platform will redeliver.
		s.rejections.reject(instance, "plugin_restarting", logrus.Fields{"error": err.Error()})
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "unavailable", "channel is restarting, retry later")
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.WebhookTimeout)
	defer cancel()
	resp, err := ch.HandleWebhook(ctx, sdk.WebhookRequest{
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Header: r.Header, Body: body, RemoteAddr: r.RemoteAddr,
	})
	if err != nil {
		if r.Context().Err() != nil {
			// The client hung up; the plugin call was cancelled with it.
			log().WithError(err).Debug("webhook client went away before the answer")
			return
		}
		if sdk.KindOf(err) == sdk.Permanent {
			log().WithError(err).Error("plugin cannot handle this webhook")
			writeError(w, http.StatusInternalServerError, "internal", "the channel cannot handle this request")
			return
		}
		log().WithError(err).Error("plugin failed to handle webhook")
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the channel could not handle the request")
		return
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	if status < 400 && len(resp.Events) > 0 {
		res, err := s.store.CommitEvents(ctx, instance, resp.Events)
		if err != nil {
			log().WithError(err).Error("could not commit webhook events")
			w.Header().Set("Retry-After", "5")
			writeError(w, http.StatusServiceUnavailable, "unavailable", "events could not be stored, retry later")
			return
		}
		s.cfg.Metrics.InboundCommitted(instance, len(res.Accepted), res.Duplicates)
	} else if status >= 400 {
		s.cfg.Metrics.InboundRefused(instance, status)
		s.rejections.reject(instance, "plugin_status_"+strconv.Itoa(status), logrus.Fields{"status": status})
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(resp.Body)
}
