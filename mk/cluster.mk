# Clients beyond one machine (issue #15), included by the Makefile: shards of one run
# (client-bench --shard I/N) merged into one exact result. docs/client-bench.md "Shards and merge".

# The shard result files of one run, and where the merged result goes.
RESULTS ?=
MERGED ?= results/merged.json

.PHONY: merge

merge: build ## Merge shard results into one: make merge RESULTS="a.json b.json" [MERGED=...]
	@test -n "$(strip $(RESULTS))" || { echo 'make merge: RESULTS is empty (expected RESULTS="shard-1.json shard-2.json ...")' >&2; exit 2; }
	node dist/client-bench/main.js merge $(RESULTS) -o $(MERGED)
