# wsbench — the commands a user types. `make` alone prints this help.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Run parameters (exported to the scripts as environment variables).
MODE ?= uws
CLIENTS ?= 100
DURATION ?= 30
WARMUP ?= 5
RATE ?=
SYMBOLS ?= 8
MODES ?= ws-naive ws uws
REPEATS ?= 3
SCENARIOS ?= capacity firehose fanout
SLO_P99_MS ?= 10
CAPACITY_BUDGET_S ?= 180
VARY ?= rate
export MODE CLIENTS DURATION WARMUP RATE SYMBOLS MODES REPEATS SCENARIOS SLO_P99_MS CAPACITY_BUDGET_S VARY

# Docker targets (up, down, logs, ps, test-docker, bench-docker) and RUNTIME_DETECTED.
include mk/docker.mk
# Sharded clients merged exactly (merge).
include mk/cluster.mk
# Ablation, soak, fault scenarios (ablation, soak).
include mk/ops.mk
RUNTIME ?= $(RUNTIME_DETECTED)

.PHONY: help deps install build test lint format bench bench-native capacity compare report clean

help: ## Show this help: targets and variables with their defaults
	@echo "wsbench — WebSocket broadcast benchmark (ws-naive, ws, uws)"
	@echo
	@echo "Targets:"
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  %-14s %s\n", $$1, $$2}'
	@echo
	@echo "Variables (make VAR=value):"
	@echo "  MODE=$(MODE)          server mode for bench/up: ws-naive | ws | uws (up also: all)"
	@echo "  CLIENTS=$(CLIENTS)         WebSocket connections"
	@echo "  DURATION=$(DURATION)         measured seconds (after warm-up)"
	@echo "  WARMUP=$(WARMUP)           warm-up seconds (not counted)"
	@echo "  RATE=$(RATE)              unset: bench = capacity search; N: one run at N ticks/s; max: overload run"
	@echo "  SYMBOLS=$(SYMBOLS)          symbols (streams) the server generates"
	@echo "  MODES=\"$(MODES)\"  modes compared by make compare"
	@echo "  REPEATS=$(REPEATS)          repeats per mode and scenario in make compare"
	@echo "  SCENARIOS=\"$(SCENARIOS)\"  compare scenarios (capacity, firehose, fanout, steady)"
	@echo "  SLO_P99_MS=$(SLO_P99_MS)       capacity objective: p99 due time -> receive, every tick delivered"
	@echo "  CAPACITY_BUDGET_S=$(CAPACITY_BUDGET_S) time budget of one capacity search (per mode)"
	@echo "  VARY=$(VARY)          capacity axis: rate (at CLIENTS) or clients (at RATE)"
	@echo "  RUNTIME=$(RUNTIME)     native | docker (auto: docker when a stack is up)"
	@echo "  ON_SERVER_CLOSE=abort   the server gone mid-run: abort (exit 3) | reconnect (report the outage)"

deps: ## Install the Debian packages the tests need (prometheus, chromium, docker.io, ...)
	bash scripts/install-deps.sh

# npm ci runs only when the lockfile or a package.json is newer than the last install (its own
# stamp: npm ci wipes node_modules, so it must not run on every make).
INSTALL_STAMP := node_modules/.wsbench-installed
$(INSTALL_STAMP): package-lock.json package.json protocol/package.json server/package.json client-bench/package.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(INSTALL_STAMP) ## Install npm packages from the lockfile (when they changed)

build: install ## Compile TypeScript into dist/
	npx tsc -p tsconfig.json

# The tests are the compiled *.test.ts of the source tree (a stale file left in dist/ never runs).
TESTS = $(shell find . -name '*.test.ts' -not -path './node_modules/*' -not -path './dist/*' -not -path './results/*' | sed -e 's|^\./|dist/|' -e 's|\.ts$$|.js|' | sort)

test: build ## Run every test (node:test); tools missing -> skip, or fail with WSBENCH_REQUIRE_ALL=1
	node --test --test-concurrency=1 $(TESTS)

lint: install ## Prettier, ESLint and the type checker
	npx prettier --check .
	npx eslint .
	npx tsc -p tsconfig.json --noEmit

format: install ## Rewrite files with Prettier
	npx prettier --write .

# The scripts are TypeScript in scripts/, compiled with everything else into dist/scripts/.
# bench builds once, then runs its runtime's target without building again (-o build).
bench: build ## Capacity of MODE (RATE=N: one run at N, RATE=max: overload); docker when a stack is up
	@$(MAKE) --no-print-directory -o build -o install bench-$(RUNTIME)

bench-native: build ## Run one benchmark with native processes, results/<run-id>/
	$(if $(filter $(HOSTILE_SCENARIOS),$(SCENARIO)),MODES='$(MODE)' REPEATS=1 node dist/scripts/scenario.js,node dist/scripts/bench.js)

capacity: build ## Capacity search for MODE: highest rate (VARY=clients: most clients) within SLO_P99_MS
	node dist/scripts/capacity.js

compare: build ## Compare MODES over SCENARIOS and REPEATS (alternating order), report
	$(if $(filter-out $(HOSTILE_SCENARIOS),$(SCENARIOS)),SCENARIOS='$(filter-out $(HOSTILE_SCENARIOS),$(SCENARIOS))' node dist/scripts/compare.js)
	$(foreach s,$(filter $(HOSTILE_SCENARIOS),$(SCENARIOS)),SCENARIO=$(s) node dist/scripts/scenario.js &&) true

report: build ## Rebuild report.md/report.html for every run in results/
	node dist/scripts/report.js

clean: ## Remove build output (results/ is kept)
	rm -rf dist
