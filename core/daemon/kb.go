package daemon

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-chat/switchboard/core/config"
	"github.com/switchboard-chat/switchboard/core/kb"
	"github.com/switchboard-chat/switchboard/core/store"
	"github.com/switchboard-chat/switchboard/sdk"
)

// models gives the model plugin's current client.
type models interface {
	LLM() (sdk.LLM, error)
}

// modelEmbedder embeds through whichever model plugin process is running
// now, so a restarted plugin is picked up.
type modelEmbedder struct{ models models }

// Embed implements kb.Embedder.
func (m modelEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	llm, err := m.models.LLM()
	if err != nil {
		return nil, err
	}
	return llm.Embed(ctx, texts)
}

// openKB opens the knowledge base, synchronises kb.sources into it and,
// with kb.embed_model, keeps its vectors current until ctx ends. A source
// file that cannot be imported is logged and keeps its previous version.
func (d *Daemon) openKB(ctx context.Context, st *store.Store, host models) (*kb.KB, error) {
	opts := kb.Options{}
	if d.cfg.KB.EmbedModel != "" && d.cfg.LLM != nil {
		opts.Embedder, opts.EmbedModel = modelEmbedder{models: host}, d.cfg.KB.EmbedModel
	}
	knowledge, err := kb.Open(ctx, st, opts)
	if err != nil {
		return nil, err
	}
	if len(d.cfg.KB.Sources) > 0 {
		rep, err := knowledge.Sync(ctx, d.cfg.KB.Sources)
		if err != nil {
			return nil, err
		}
		for _, name := range slices.Sorted(maps.Keys(rep.Failed)) {
			d.log.WithError(rep.Failed[name]).WithField("file", name).Error("knowledge base: file not imported; its previous version, if any, stays")
		}
		d.log.WithFields(logrus.Fields{
			"imported": len(rep.Imported), "unchanged": len(rep.Unchanged), "removed": len(rep.Removed),
			"sources": strings.Join(d.cfg.KB.Sources, ","),
		}).Info("knowledge base synchronised")
	}
	go knowledge.RunEmbedder(ctx, d.log)
	return knowledge, nil
}

// llmOptions are the model plugin's options, with kb.embed_model handed
// to it as its embed_model option unless [llm.options] sets one.
func (d *Daemon) llmOptions() map[string]any {
	if d.cfg.KB.EmbedModel == "" {
		return d.cfg.LLM.Options
	}
	if _, set := d.cfg.LLM.Options["embed_model"]; set {
		return d.cfg.LLM.Options
	}
	opts := maps.Clone(d.cfg.LLM.Options)
	if opts == nil {
		opts = map[string]any{}
	}
	opts["embed_model"] = d.cfg.KB.EmbedModel
	return opts
}

// knowledge is the knowledge base as the engine asks it.
type knowledge struct {
	kb       *kb.KB
	answerer *kb.Answerer
	topK     int
}

func newKnowledge(k *kb.KB, c config.KB) knowledge {
	return knowledge{
		kb:       k,
		answerer: k.Answerer(kb.Thresholds{Answer: c.AnswerThreshold, Margin: c.AnswerMargin, Suggest: c.SuggestThreshold}),
		topK:     c.TopK,
	}
}

// Decide implements engine.Knowledge.
func (k knowledge) Decide(ctx context.Context, question string) (kb.Decision, error) {
	return k.answerer.Decide(ctx, question)
}

// SaveEntry implements console.Knowledge.
func (k knowledge) SaveEntry(ctx context.Context, doc string, e kb.Entry) (kb.Imported, error) {
	return k.kb.SaveEntry(ctx, doc, e)
}

// Pick implements engine.Knowledge.
func (k knowledge) Pick(ctx context.Context, reply string, offered []kb.Suggestion) (kb.Decision, bool, error) {
	return k.answerer.Pick(ctx, reply, offered)
}

// Ground implements engine.Knowledge.
func (k knowledge) Ground(ctx context.Context, question string) (kb.Grounding, error) {
	return k.kb.Ground(ctx, question, k.topK)
}
