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

.PHONY: all run build ui certs image deps test test-go fuzz test-ui test-e2e test-image lint bench clean release release-check

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

## image: the container image miniprom:$(VERSION) (Dockerfile), built with
## podman, or docker when there is no podman: a static binary with the UI and
## Kubernetes discovery, CA certificates, the example configs, user nobody.
IMAGE_TOOL ?= $(shell command -v podman || command -v docker)
IMAGE      ?= miniprom:$(VERSION)
IMAGE_CTX  := build/image
image: ui
	@[ -n "$(IMAGE_TOOL)" ] || { echo "make image: needs podman or docker (apt-get install podman)" >&2; exit 1; }
	rm -rf $(IMAGE_CTX)
	CGO_ENABLED=0 $(GO) build -trimpath -tags kubernetes -ldflags '$(LDFLAGS)' -o $(IMAGE_CTX)/bin/miniprom ./cmd/miniprom
	./scripts/image-context.sh $(IMAGE_CTX)
	$(IMAGE_TOOL) build -f Dockerfile -t $(IMAGE) $(IMAGE_CTX)

## ui: install the UI's pinned packages and build the bundle that Go embeds.
ui: $(UI)/node_modules/.package-lock.json
	$(NPM) --prefix $(UI) run build

$(UI)/node_modules/.package-lock.json: $(UI)/package-lock.json
	$(NPM) --prefix $(UI) ci --no-audit --no-fund

## deps: the Debian packages the tests need (scripts/deps.sh): installed when
## missing if root or sudo can, otherwise named with the command to install them.
deps:
	./scripts/deps.sh

## test: every test: Go (unit, integration, upstream PromQL suite), UI unit
## tests, end-to-end tests in headless Chromium, and the container image.
test: deps test-go test-ui test-e2e test-image

# The two packages holding the caches run under the race detector.
RACE_PKGS := ./pkg/storage ./pkg/querycache
test-go: deps ui
	$(GO) test -count=1 -timeout 20m $$($(GO) list ./... | grep -v -e /pkg/storage$$ -e /pkg/querycache$$)
	$(GO) test -count=1 -timeout 20m -race $(RACE_PKGS)
	# Kubernetes discovery is only in binaries built with GOTAGS=kubernetes.
	$(GO) test -count=1 -tags kubernetes -run 'Kubernetes|ExampleConfigs' ./cmd/miniprom ./pkg/server
	$(MAKE) fuzz

## fuzz: each fuzz target briefly, from its checked-in corpus in testdata/fuzz.
## A count of inputs, not a duration: Go 1.26's fuzzing coordinator can fail
## a target with "context deadline exceeded" when a duration ends while a
## worker is mid-input (golang/go#75804, fixed in Go 1.27). 20,000 inputs
## take 5-20 s per target here.
FUZZTIME ?= 20000x
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzQueryPreflight$$' -fuzztime $(FUZZTIME) ./pkg/api
	$(GO) test -run '^$$' -fuzz '^FuzzRemoteWriteCheck$$' -fuzztime $(FUZZTIME) ./pkg/api
	$(GO) test -run '^$$' -fuzz '^FuzzOTLPCheck$$' -fuzztime $(FUZZTIME) ./pkg/api
	$(GO) test -run '^$$' -fuzz '^FuzzScanV1$$' -fuzztime $(FUZZTIME) ./pkg/api
	$(GO) test -run '^$$' -fuzz '^FuzzFloatLenBound$$' -fuzztime $(FUZZTIME) ./pkg/api

test-ui: $(UI)/node_modules/.package-lock.json
	$(NPM) --prefix $(UI) test

test-e2e: deps build
	$(NPM) --prefix $(UI) run e2e

## test-image: build the image and run its entrypoint from its exported root
## filesystem (TestImage in cmd/miniprom, as root). Without podman or docker
## it says so loudly and goes on, except in CI ($$CI set), where it fails.
test-image: deps
	@if [ -z "$(IMAGE_TOOL)" ]; then \
	  if [ -n "$$CI" ]; then echo "test-image: no podman or docker" >&2; exit 1; fi; \
	  echo "*** test-image SKIPPED: no podman or docker (apt-get install podman) ***" >&2; exit 0; \
	fi; \
	$(MAKE) image && \
	MINIPROM_IMAGE=$(IMAGE) MINIPROM_IMAGE_TOOL=$(IMAGE_TOOL) $(GO) test -count=1 -v -run '^TestImage$$' ./cmd/miniprom

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

## release: dist/miniprom-VERSION.OS-ARCH.tar.gz for each of RELEASE_PLATFORMS
## (binary, example configs, systemd unit, LICENSE, NOTICE, README.md) and
## dist/sha256sums.txt. Reproducible: what varies between builds (date,
## user, host, paths, build id, file times and owners) is taken from the
## commit or left out, so one commit gives the same hashes anywhere with
## the same Go and npm packages. release-check builds it twice, the second
## time in a fresh clone, and compares.
RELEASE_PLATFORMS ?= linux/amd64 linux/arm64 darwin/arm64
release: ui
	GOTAGS='$(GOTAGS)' ./.ci/release $(RELEASE_PLATFORMS)

release-check:
	./.ci/release --check $(RELEASE_PLATFORMS)

clean:
	rm -rf bin build dist
	find $(UI)/dist -mindepth 1 ! -name .keep -delete
