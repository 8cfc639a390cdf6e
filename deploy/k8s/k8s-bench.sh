#!/usr/bin/env bash
# One sharded run on a Kubernetes cluster with kubectl (docs/cluster.md). NOT RUN HERE: the build
# machine has no cluster; deploy/k8s.test.ts checks the manifests and the Job's command instead.
#   1. kubectl apply -f deploy/k8s/wsbench.yaml; wait for the server and Prometheus;
#   2. the start instant: ConfigMap wsbench-run startAt = now + LEAD s (epoch ms, wall clock),
#      written before the Job (its pods read it at start);
#   3. kubectl apply -f deploy/k8s/client-job.yaml (an Indexed Job, completions = shards);
#   4. waits for the Job, then takes each pod's one result line from `kubectl logs` by its
#      completion index into OUT/shard-<index+1>.json and merges them with client-bench merge.
# Another size: node dist/deploy/k8s/manifests.js --shards 8 --clients 100000 --out-dir DIR, then
# K8S_DIR=DIR. The images wsbench/server and wsbench/client-bench must be pullable by the nodes
# (push them to your registry and pass --image-tag, or load them into every node).
set -euo pipefail
cd "$(dirname "$0")/../.."
K8S_DIR=${K8S_DIR:-deploy/k8s}
NS=wsbench
LEAD=${LEAD:-60}
OUT=${OUT:-results/k8s-$(date -u +%Y%m%d-%H%M%S)}
TIMEOUT=${TIMEOUT:-30m}
log() { echo "k8s-bench: $*" >&2; }

command -v kubectl >/dev/null || { log "kubectl not found"; exit 2; }
[[ "$LEAD" =~ ^[0-9]+$ ]] || { log "invalid LEAD \"$LEAD\": expected seconds"; exit 2; }
shards=$(awk '/^  completions:/ { print $2; exit }' "$K8S_DIR/client-job.yaml")
[ -n "$shards" ] || { log "no completions in $K8S_DIR/client-job.yaml"; exit 1; }

kubectl apply -f "$K8S_DIR/wsbench.yaml"
kubectl -n "$NS" rollout status deploy/wsbench-server --timeout=5m
kubectl -n "$NS" rollout status deploy/wsbench-prometheus --timeout=5m
# A Job's pod template cannot change; a previous run's Job goes first.
kubectl -n "$NS" delete job wsbench-client --ignore-not-found --wait=true
start_at=$(($(date +%s%3N) + LEAD * 1000))
kubectl -n "$NS" create configmap wsbench-run --from-literal=startAt="$start_at" \
  --dry-run=client -o yaml | kubectl apply -f -
kubectl apply -f "$K8S_DIR/client-job.yaml"
log "$shards shards start at $start_at (epoch ms); waiting for the Job"
kubectl -n "$NS" wait --for=condition=complete job/wsbench-client --timeout="$TIMEOUT" ||
  log "the Job did not complete; collecting what the shards wrote"

mkdir -p "$OUT"
files=()
for ((i = 0; i < shards; i++)); do
  f="$OUT/shard-$((i + 1)).json"
  kubectl -n "$NS" logs --tail=-1 \
    -l "job-name=wsbench-client,batch.kubernetes.io/job-completion-index=$i" |
    grep '^{"schemaVersion"' | tail -n 1 >"$f" || true
  if [ -s "$f" ]; then files+=("$f"); else log "shard $((i + 1)) printed no result"; fi
done
[ ${#files[@]} -gt 0 ] || { log "no shard printed a result"; exit 1; }
node dist/client-bench/main.js merge "${files[@]}" -o "$OUT/result.json"
