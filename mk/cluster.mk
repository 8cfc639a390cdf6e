# Clients beyond one machine (issue #15), included by the Makefile: shards of one run
# (client-bench --shard I/N) merged into one exact result. docs/client-bench.md "Shards and merge".

# The shard result files of one run, and where the merged result goes.
RESULTS ?=
MERGED ?= results/merged.json

.PHONY: merge

merge: build ## Merge shard results into one: make merge RESULTS="a.json b.json" [MERGED=...]
	@test -n "$(strip $(RESULTS))" || { echo 'make merge: RESULTS is empty (expected RESULTS="shard-1.json shard-2.json ...")' >&2; exit 2; }
	node dist/client-bench/main.js merge $(RESULTS) -o $(MERGED)

# Docker Swarm (deploy/swarm/, docs/cluster.md): the server, SHARDS client-bench replicas (replica
# k = shard k/SHARDS, started together at a common wall-clock instant) and Prometheus as one stack;
# the shard results are collected and merged into one result.
SHARDS ?= 2
SWARM_STACK ?= wsbench-swarm
export SHARDS SWARM_STACK

.PHONY: swarm-bench swarm-down test-swarm kube-manifests

swarm-bench: build ## Sharded run on Docker Swarm: SHARDS replicas + server + Prometheus, merged
	@bash deploy/swarm/swarm-bench.sh

swarm-down: ## Remove the Swarm stack (left up by KEEP_STACK=1); the swarm itself stays
	@docker stack rm $(SWARM_STACK)

test-swarm: build ## End-to-end Swarm test on this node: merge exact, every shard in Prometheus
	node --test --test-concurrency=1 dist/deploy/swarm.e2e.js

kube-manifests: build ## Regenerate deploy/k8s/*.yaml from deploy/k8s/manifests.ts (SHARDS, CLIENTS, ...)
	node dist/deploy/k8s/manifests.js
