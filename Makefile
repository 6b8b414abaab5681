# The targets are the README's words: run, build, test, lint, bench, ui.
GO      ?= go
GOTAGS  ?=
NPM     ?= npm
UI      := pkg/ui
VERSION := $(shell cat VERSION)
REV     := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
VPKG    := github.com/prometheus/common/version
LDFLAGS := -s -w -X $(VPKG).Version=$(VERSION) -X $(VPKG).Revision=$(REV) \
           -X $(VPKG).Branch=main -X $(VPKG).BuildUser=$(USER)@$(shell hostname) \
           -X $(VPKG).BuildDate=$(shell date -u +%Y%m%d-%H:%M:%S)

.PHONY: all run build ui certs test test-go fuzz test-ui test-e2e lint bench clean

all: build

## run: build, make a development CA and certificate in .dev/ (once), and
## serve https://localhost:9090 with the example configs.
run: build certs
	./bin/miniprom --config.file=prometheus.example.yml \
	  --web.config.file=web-config.example.yml \
	  --web.listen-address=localhost:9090 \
	  --web.external-url=https://localhost:9090/ \
	  --web.enable-lifecycle

build: ui
	$(GO) build -trimpath -tags '$(GOTAGS)' -ldflags '$(LDFLAGS)' -o bin/miniprom ./cmd/miniprom

certs:
	$(GO) run ./cmd/devcert -dir .dev

## ui: install the UI's pinned packages and build the bundle that Go embeds.
ui: $(UI)/node_modules/.package-lock.json
	$(NPM) --prefix $(UI) run build

$(UI)/node_modules/.package-lock.json: $(UI)/package-lock.json
	$(NPM) --prefix $(UI) ci --no-audit --no-fund

## test: every test: Go (unit, integration, upstream PromQL suite), UI unit
## tests, and end-to-end tests in headless Chromium.
test: test-go test-ui test-e2e

test-go: ui
	$(GO) test -count=1 ./...
	# Kubernetes discovery is only in binaries built with GOTAGS=kubernetes.
	$(GO) test -count=1 -tags kubernetes -run 'Kubernetes|ExampleConfigs' ./cmd/miniprom ./pkg/server
	$(MAKE) fuzz

## fuzz: each fuzz target briefly, from its checked-in corpus in testdata/fuzz.
FUZZTIME ?= 10s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzQueryPreflight$$' -fuzztime $(FUZZTIME) ./pkg/api
	$(GO) test -run '^$$' -fuzz '^FuzzRemoteWriteCheck$$' -fuzztime $(FUZZTIME) ./pkg/api
	$(GO) test -run '^$$' -fuzz '^FuzzOTLPCheck$$' -fuzztime $(FUZZTIME) ./pkg/api
	$(GO) test -run '^$$' -fuzz '^FuzzScanV1$$' -fuzztime $(FUZZTIME) ./pkg/api
	$(GO) test -run '^$$' -fuzz '^FuzzFloatLenBound$$' -fuzztime $(FUZZTIME) ./pkg/api

test-ui: $(UI)/node_modules/.package-lock.json
	$(NPM) --prefix $(UI) test

test-e2e: build
	$(NPM) --prefix $(UI) run e2e

lint:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"
	$(GO) vet ./...
	$(GO) mod tidy -diff

## bench: miniprom against a reference Prometheus side by side (bench/run.sh;
## bench/dashboard.sh adds VictoriaMetrics and a day of remote-written data),
## the Go benchmarks (retention plateau, rule evaluation, remote write), and
## the UI's 1,000-series graph draw time.
bench: build
	./bench/run.sh
	./bench/dashboard.sh
	./bench/memory.sh
	./bench/day.sh
	./bench/scrape.sh
	$(GO) test -run '^$$' -bench . -benchtime 1x ./pkg/storage ./pkg/server
	$(GO) test -run '^$$' -bench . ./pkg/querycache
	$(NPM) --prefix $(UI) run bench

clean:
	rm -rf bin
	find $(UI)/dist -mindepth 1 ! -name .keep -delete
