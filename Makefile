# davit — see README.md. `make run` starts a single-node agent; `make test` runs the suite.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
DATA_DIR  ?= $(CURDIR)/.data
TEST_TIMEOUT ?= 40m

.PHONY: all build run test test-short bench deps fmt vet clean

all: build

deps:
	@scripts/deps.sh

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/davit ./cmd/davit

run: deps build
	bin/davit agent --data-dir $(DATA_DIR)

# The whole suite: unit, store, end-to-end (real agent processes) and cluster tests.
test: deps build
	$(GO) vet ./...
	DAVIT_BIN=$(CURDIR)/bin/davit $(GO) test -race -timeout $(TEST_TIMEOUT) ./...

test-short: build
	DAVIT_BIN=$(CURDIR)/bin/davit $(GO) test -short ./...

bench: deps build
	$(GO) run ./bench -davit $(CURDIR)/bin/davit

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

clean:
	rm -rf bin .data
