# Switchboard build, run and test entry points. `make help` lists them.

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
CONFIG   ?= config.toml

# The Go modules of the tree: the daemon's (with the plugins and examples)
# and the SDK's, which plugin authors depend on.
MODULES := . sdk

# Plugin binaries for bin/plugins, name:package: every folder of plugins/
# under its own name, plus the examples.
PLUGINS := $(foreach d,$(wildcard plugins/*/main.go),$(notdir $(patsubst %/,%,$(dir $(d)))):./$(dir $(d))) \
	echo:./examples/echo-channel webhook-desk:./examples/webhook-desk

.PHONY: all build run test vet e2e chaos fuzz bench eval proto help clean

all: build

help:
	@echo "make build   build bin/switchboard and bin/plugins/*"
	@echo "make run     build, then serve with $(CONFIG)"
	@echo "make test    every unit and integration test, in both modules"
	@echo "make vet     go vet and gofmt, in both modules"
	@echo "make e2e     tests against a real Ollama server (built from source, tiny model)"
	@echo "make chaos   the chaos test: kills, flaky platforms, redeliveries (CHAOS_MESSAGES, CHAOS_CONVERSATIONS)"
	@echo "make fuzz    run every fuzz target for FUZZTIME each (default 100000 inputs)"
	@echo "make bench   the benchmark suite with same-run baselines (BENCH_QUICK=1: a short run)"
	@echo "make eval    the knowledge base's answer quality and search speed"
	@echo "make proto   regenerate the committed gRPC code"

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/switchboard ./core/cmd/switchboard
	@mkdir -p bin/plugins
	@for p in $(PLUGINS); do \
		name=$${p%%:*}; pkg=$${p#*:}; \
		echo "$(GO) build -o bin/plugins/$$name $$pkg"; \
		$(GO) build -o bin/plugins/$$name $$pkg || exit 1; \
	done

run: build
	./bin/switchboard serve --config $(CONFIG)

# The SDK module's tests include the check that its dependencies stay free
# of the daemon's (bbolt, koanf, logrus, Prometheus).
test: build
	@rc=0; for m in $(MODULES); do \
		echo "(cd $$m && $(GO) test -count=1 ./...)"; \
		(cd $$m && $(GO) test -count=1 ./...) || rc=1; \
	done; exit $$rc

vet:
	@rc=0; for m in $(MODULES); do \
		echo "(cd $$m && $(GO) vet ./...)"; \
		(cd $$m && $(GO) vet ./...) || rc=1; \
	done; exit $$rc
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then echo "not gofmt'ed:"; echo "$$unformatted"; exit 1; fi

# Real-server tests: builds Ollama from the Go module proxy (minutes the
# first time), generates a tiny model, and runs each suite against a fresh
# server on port $(OLLAMA_PORT).
OLLAMA_PORT ?= 11500
E2E_DIR     ?= $(CURDIR)/.e2e
# package:test-pattern; the other tests of these packages run in make test.
E2E_SUITES  := ./plugins/ollama/e2e/:. ./plugins/ollama/:Real ./plugins/openai/:Real ./core/integration/:RealOllama

e2e: build
	plugins/ollama/e2e/install-ollama.sh >/dev/null
	@for suite in $(E2E_SUITES); do \
		OLLAMA_PORT=$(OLLAMA_PORT) plugins/ollama/e2e/start-ollama.sh $(E2E_DIR) >/dev/null || exit 1; \
		OLLAMA_HOST=http://127.0.0.1:$(OLLAMA_PORT) $(GO) test -count=1 -tags e2e -v -run "$${suite#*:}" "$${suite%%:*}"; rc=$$?; \
		plugins/ollama/e2e/stop-ollama.sh $(E2E_DIR); \
		[ $$rc -eq 0 ] || exit $$rc; \
	done

# The chaos test (see core/integration/chaos_test.go). Full size by default:
# 2000 messages over 200 conversations.
CHAOS_MESSAGES      ?= 2000
CHAOS_CONVERSATIONS ?= 200
chaos: build
	CHAOS_MESSAGES=$(CHAOS_MESSAGES) CHAOS_CONVERSATIONS=$(CHAOS_CONVERSATIONS) \
		$(GO) test -count=1 -tags chaos -run TestChaos -timeout 20m -v ./core/integration/

# Every Fuzz target in the tree, each for FUZZTIME, run from the module
# that holds it (sdk/ is its own). The budget is a count of inputs
# ("100000x"): with a duration, Go 1.26's fuzz coordinator can report its
# own stop as "context deadline exceeded" and fail a target that found
# nothing (golang/go#75804, fixed in Go 1.27). A duration still works.
FUZZTIME ?= 100000x
fuzz:
	@for f in $$(grep -rl --include='*_test.go' '^func Fuzz' core plugins examples sdk); do \
		dir=$$(dirname $$f); mod=.; pkg=./$$dir; \
		case $$dir in sdk|sdk/*) mod=sdk; pkg=.$${dir#sdk};; esac; \
		for target in $$(grep -h '^func Fuzz' $$f | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "== $$target in $$dir"; \
			(cd $$mod && $(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) $$pkg) || exit 1; \
		done; \
	done

# The benchmark suite: the real daemon and plugins on loopback with a fake
# Telegram and a fake model; prints one "name: value" line per figure, with
# its baselines measured in the same run (docs/performance.md). About fifteen
# minutes; BENCH_QUICK=1 runs each figure for a few seconds. Then the
# in-process benchmarks: the store, the webhook handler, the engine, the
# knowledge base and routing (assignment decisions, classification).
bench: build
	BENCH_QUICK=$(BENCH_QUICK) $(GO) run ./core/cmd/bench -bin bin
	$(GO) test -run='^$$' -bench=. -benchtime=$(if $(BENCH_QUICK),200x,2s) ./core/store/ ./core/httpapi/ ./core/engine/ ./core/kb/ ./core/routing/
	cd sdk && $(GO) test -run='^$$' -bench=. -benchtime=$(if $(BENCH_QUICK),200x,2s) .

# Needs protoc (Debian: apt-get install protobuf-compiler) and, on PATH,
# the generators the committed code was made with: go install
# google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
# google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.0
proto:
	protoc --go_out=. --go_opt=module=github.com/switchboard-chat/switchboard \
		--go-grpc_out=. --go-grpc_opt=module=github.com/switchboard-chat/switchboard \
		sdk/internal/pb/plugin.proto

clean:
	rm -rf bin

# The knowledge-base evaluation: labelled visitor questions against
# examples/kb (a tuning part and three held-out parts, the third judging), and the search time
# in a knowledge base of 100,000 chunks (docs/knowledge-base.md). About 45 s
# of CPU: under a minute on two cores that nothing else uses.
eval:
	$(GO) run ./core/cmd/kbeval
