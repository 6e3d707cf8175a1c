package integration

import (
	"fmt"
	"testing"

	"github.com/switchboard-chat/switchboard/plugins/ollama/ollamatest"
	"github.com/switchboard-chat/switchboard/plugins/openai/openaitest"
)

// The engine tests run once per model plugin, each plugin binary against a
// fake of the server it talks to. A test scripts answers and inspects
// requests through modelFake, the same whichever protocol is spoken.

// answer is a scripted model answer.
type answer struct {
	// text is the answer, streamed a word at a time, unless chunks is set.
	text string
	// chunks are the streamed pieces of the answer.
	chunks []string
	// call, when set, is a tool the model calls with args instead of
	// answering.
	call string
	args map[string]any
}

// say is an answer with the given text.
func say(text string) answer { return answer{text: text} }

// chatSeen is what a fake model server was asked in one chat request.
type chatSeen struct {
	Model    string
	Tools    []string // the offered tools' names
	LastUser string
}

// modelFake is a fake model server and the config that points its plugin at
// it.
type modelFake interface {
	// Config is the [llm] section for the plugin, with a [bot] section
	// that answers without a gather window.
	Config() string
	// Model is the id of the model the config names.
	Model() string
	// Calls returns how many chat requests arrived.
	Calls() int
	// LastChat returns the latest chat request; ok is false if none came.
	LastChat() (seen chatSeen, ok bool)
	// SetModels replaces the models the server has.
	SetModels(models ...string)
	// Close stops the server, as a model server that went down.
	Close()
}

// modelPlugin is one model plugin with its fake server.
type modelPlugin struct {
	name string
	// start serves a fake that has the plugin's test model and answers
	// with reply (nil: the fake's default echo), until the test ends.
	start func(t *testing.T, reply func() answer) modelFake
}

// modelPlugins are the shipped model plugins.
var modelPlugins = []modelPlugin{
	{name: "ollama", start: startOllama},
	{name: "openai", start: startOpenAI},
}

// forEachModel runs test as a subtest per model plugin.
func forEachModel(t *testing.T, test func(t *testing.T, m modelPlugin)) {
	for _, m := range modelPlugins {
		t.Run(m.name, func(t *testing.T) { test(t, m) })
	}
}

type ollamaFake struct {
	*ollamatest.Fake
	url string
}

func startOllama(t *testing.T, reply func() answer) modelFake {
	f := &ollamaFake{Fake: ollamatest.New(model)}
	if reply != nil {
		f.Reply = func(ollamatest.ChatRequest) ollamatest.Response {
			a := reply()
			switch {
			case a.call != "":
				return ollamatest.Call(a.call, a.args)
			case a.chunks != nil:
				return ollamatest.Response{Chunks: a.chunks}
			default:
				return ollamatest.Text(a.text)
			}
		}
	}
	f.url = f.Start(t)
	return f
}

func (f *ollamaFake) Config() string { return llmConfig(f.url) }
func (f *ollamaFake) Model() string  { return model }

func (f *ollamaFake) LastChat() (chatSeen, bool) {
	req, ok := f.LastRequest()
	seen := chatSeen{Model: req.Model, LastUser: req.LastUser()}
	for _, tool := range req.Tools {
		seen.Tools = append(seen.Tools, tool.Function.Name)
	}
	return seen, ok
}

// openaiModel and openaiKey are what the openai plugin is configured with.
const (
	openaiModel = "qwen2.5-1.5b-instruct"
	openaiKey   = "sk-integration-test"
)

type openaiFake struct {
	*openaitest.Fake
	url string
}

func startOpenAI(t *testing.T, reply func() answer) modelFake {
	f := &openaiFake{Fake: openaitest.New(openaiModel)}
	f.APIKey = openaiKey
	if reply != nil {
		f.Reply = func(openaitest.ChatRequest) openaitest.Response {
			a := reply()
			switch {
			case a.call != "":
				return openaitest.Call(a.call, a.args)
			case a.chunks != nil:
				return openaitest.Response{Chunks: a.chunks}
			default:
				return openaitest.Text(a.text)
			}
		}
	}
	f.url = f.Start(t)
	return f
}

func (f *openaiFake) Config() string {
	return fmt.Sprintf(`
[llm]
plugin = "openai"
[llm.options]
base_url = %q
model = %q
api_key = %q
timeout = "5s"

[bot]
gather_window = "0s"
`, f.url, openaiModel, openaiKey)
}

func (f *openaiFake) Model() string { return openaiModel }

func (f *openaiFake) LastChat() (chatSeen, bool) {
	req, ok := f.LastRequest()
	seen := chatSeen{Model: req.Model, LastUser: req.LastUser()}
	for _, tool := range req.Tools {
		seen.Tools = append(seen.Tools, tool.Function.Name)
	}
	return seen, ok
}
