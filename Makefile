# Every target works on all modules in go.work; there is no root go.mod, so
# `go test ./...` at the root would find nothing. MODULE_DIRS is recursive (=)
# so it is only computed by the targets that use it.
MODULE_DIRS = $(shell go list -m -f '{{.Dir}}')
PACKAGES = $(addsuffix /...,$(MODULE_DIRS))

# The stack reuses Postgres and NATS when they answer and starts private ones
# otherwise (see infra/cmd/stack). Built once into .data/bin so signals reach
# it directly rather than through `go run`.
STACK = .data/bin/stack

# -race on: the services are concurrent (routers, relays, HTTP), and on this
# 2-core box it costs well under the time budget. -p 2 matches the cores;
# packages that share Postgres and NATS run in parallel safely because every
# test gets its own database and topic prefix.
TEST_FLAGS ?= -count=1 -race -p 2 -timeout 10m

.PHONY: fuzz run test bench load lint build tidy clean stack compliance

stack:
	@mkdir -p .data/bin
	go build -o $(STACK) ./infra/cmd/stack

run: stack
	$(STACK) up

test: stack
	$(STACK) exec -- go test $(TEST_FLAGS) $(PACKAGES)

# BENCH is the -bench pattern and BENCHTIME each benchmark's -benchtime, e.g.
# make bench BENCH='RawPostgres|Sync' BENCHTIME=3s for ingest's side-by-side
# sync benchmark. go test runs benchmark binaries one package at a time.
BENCH ?= .
BENCHTIME ?= 1s

bench: stack
	$(STACK) exec -- go test -count=1 -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -benchmem $(PACKAGES)

# The load benchmark (infra/cmd/load): the pipeline as `make run` starts it,
# on databases and streams of its own, under REST and MCP syncs with signed
# webhooks; report.json and chart.png under .data/load/<run>/. ARGS are its
# flags, e.g. make load ARGS='-duration 60s -per-call 1 -buyers 4'. Built
# into .data/bin like the stack, so Ctrl-C reaches it rather than `go run`.
LOAD = .data/bin/load
ARGS ?=

load:
	@mkdir -p .data/bin
	go build -o $(LOAD) ./infra/cmd/load
	$(LOAD) $(ARGS)

# The official AdCP compliance storyboards (@adcp/sdk, pinned in compliance/)
# against a fresh ingest; fails on any failed step.
compliance: stack
	$(STACK) exec -- bash compliance/run.sh

lint:
	@out="$$(gofmt -l $(MODULE_DIRS))"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	go vet $(PACKAGES)

build:
	go build $(PACKAGES)

tidy:
	@set -e; for d in $(MODULE_DIRS); do echo "go mod tidy in $$d"; (cd "$$d" && go mod tidy); done

# A private Postgres may still be running from .data/pg; stop it before its
# directory goes away.
clean:
	@if [ -x $(STACK) ]; then $(STACK) down; fi
	rm -rf .data

# Every fuzz target (func Fuzz… in a _test.go file) runs for FUZZTIME; a
# crash fails the target and leaves its input under testdata/fuzz, where it
# becomes a regression test that `make test` replays.
# FUZZTIME is a duration (10s) or a count of inputs (5000x). A count is
# what CI uses: a duration can expire while a worker minimises a new input,
# which go test reports as a failure ("context deadline exceeded") although
# nothing crashed. FUZZMINIMIZETIME bounds that minimisation.
FUZZTIME ?= 10s
FUZZMINIMIZETIME ?= 5s
fuzz:
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' $(MODULE_DIRS) | sort); do \
	  dir=$$(dirname $$f); \
	  for fz in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' $$f | sed 's/^func //'); do \
	    echo "== $$fz ($$dir)"; (cd $$dir && go test -run '^$$' -fuzz "^$$fz\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) .) || exit 1; \
	  done; \
	done
