# Ablation, soak and fault scenarios (issues #12, #14), included by the Makefile.
# docs/ablation.md, docs/scenarios.md.

SOAK_MINUTES ?= 30
export SOAK_MINUTES

# Shorter runs than make bench unless DURATION / WARMUP are given: an ablation runs
# (configurations × REPEATS) of them.
ABLATION_RUN_ENV = $(if $(filter command line environment,$(origin DURATION)),,DURATION=10) \
	$(if $(filter command line environment,$(origin WARMUP)),,WARMUP=2)

.PHONY: ablation

ablation: build ## Each optimisation alone, left out, all; MODE=ws|uws SCENARIO=firehose|fanout REPEATS
	@$(ABLATION_RUN_ENV) node dist/scripts/ablation.js

.PHONY: soak

soak: build ## A long steady run (SOAK_MINUTES=30, SOAK_RATE=200): memory slope MB/h, p99, verdict
	@$(if $(filter command line environment,$(origin WARMUP)),,WARMUP=10) node dist/scripts/soak.js

# Hostile-client scenarios (scripts/scenario.ts): make bench SCENARIO=<one of these> runs it for
# MODE; make compare runs those named in SCENARIOS for MODES (the others go to compare.ts).
HOSTILE_SCENARIOS := slow-consumers reconnect-storm churn
SCENARIO ?=
