# Docker Compose runtime (issue #6), included by the Makefile. The work is done by
# scripts/stack.sh (compose v2 or v1.29, .env, health waits) and scripts/docker-bench.ts.

# The stack's project name; make test-docker runs its own project beside a user's stack.
WSBENCH_PROJECT ?= wsbench
# make up GRAFANA=0 leaves Grafana out.
GRAFANA ?= 1
# Node of the server and client images: 24 (default), 20, 22 or a full version (docker/node-version.sh).
NODE_VERSION ?=
export WSBENCH_PROJECT GRAFANA NODE_VERSION

# docker when a server container of the stack runs, else native. Recursive (=): docker is asked
# only when RUNTIME is used (make bench, make help), never by make test or make build.
RUNTIME_DETECTED = $(shell bash scripts/stack.sh runtime 2>/dev/null || echo native)

.PHONY: up down logs ps test-docker bench-docker standins

up: ## Start the Docker stack: MODE's server, Prometheus, Grafana (GRAFANA=0: without)
	@bash scripts/stack.sh up

down: ## Stop the Docker stack; removes its containers, network and volumes
	@bash scripts/stack.sh down

logs: ## Show the Docker stack's logs (follows on a terminal; TAIL=200)
	@bash scripts/stack.sh logs

ps: ## List the Docker stack's containers and their health
	@bash scripts/stack.sh ps

bench-docker: build ## Run one benchmark with the client container against the running stack
	@MODE_ORIGIN='$(origin MODE)' node dist/scripts/docker-bench.js

standins: ## Build local base images for a machine without a registry (NODE_VERSION, Prometheus)
	@bash docker/build-standins.sh $(NODE_VERSION) | tail -n 1 | tr ' ' '\n' | grep -v '^NODE[0-9]' | \
	  paste -sd ' ' | sed 's/^/make standins: make up uses them where the official images are missing (/; s/$$/)/'

test-docker: ## End-to-end test of the Docker stack (dockerd, stand-in images, up, bench, down)
	@bash scripts/docker-e2e.sh

# make bench says which runtime it uses and why, before it runs.
.PHONY: bench-runtime-note
bench: bench-runtime-note
bench-runtime-note:
	@case '$(RUNTIME)' in native|docker) ;; \
	  *) echo "make bench: invalid RUNTIME \"$(RUNTIME)\": expected native or docker (leave RUNTIME unset to detect it)" >&2; exit 2 ;; esac
	@case '$(origin RUNTIME)' in \
	  file) if [ '$(RUNTIME)' = docker ]; then echo "make bench: runtime docker (a server of the Docker stack '$(WSBENCH_PROJECT)' is up)"; \
	        else echo "make bench: runtime native (no Docker stack '$(WSBENCH_PROJECT)' is up; make up starts one)"; fi ;; \
	  *) echo "make bench: runtime $(RUNTIME) (RUNTIME given)" ;; \
	esac >&2
