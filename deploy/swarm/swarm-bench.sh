#!/usr/bin/env bash
# make swarm-bench: one sharded benchmark on Docker Swarm (deploy/swarm/stack.yml), merged.
#   1. dockerd answers (scripts/docker-daemon.sh); this node is a swarm manager (a single-node
#      swarm is initialised on 127.0.0.1 when there is none; SWARM_INIT=0 refuses instead);
#   2. the images exist (built with the Compose tooling and docker/build-standins.sh if not);
#   3. deploys the server and Prometheus, waits for the server's /health;
#   4. deploys SHARDS client-bench replicas, replica k = shard k/SHARDS, all starting at
#      START_AT = now + SWARM_LEAD seconds (the wall clock: warm-up and window aligned);
#   5. waits until every replica has finished, keeps the logs, asks Prometheus which shards it
#      scraped (prometheus-shards.json), merges the shard results with `client-bench merge`;
#   6. removes the stack (KEEP_STACK=1 leaves it up; `make swarm-down` removes it).
# Results: $RESULTS_DIR/swarm-<time>-<mode>/{shard-K/result.json, result.json (merged), logs}.
# Exit: 0 merged, 2 bad input, 3 a shard is missing or aborted (merged result still written),
# 1 anything else. Prints the run folder as the last line on stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

STACK=${SWARM_STACK:-wsbench-swarm}
SHARDS=${SHARDS:-2}
MODE=${MODE:-uws}
CLIENTS=${CLIENTS:-100}
DURATION=${DURATION:-30}
WARMUP=${WARMUP:-5}
RATE=${RATE:-0}
SYMBOLS=${SYMBOLS:-8}
CLIENT_WORKERS=${CLIENT_WORKERS:-1}
SWARM_LEAD=${SWARM_LEAD:-10}
KEEP_STACK=${KEEP_STACK:-0}
SWARM_INIT=${SWARM_INIT:-1}
RESULTS_DIR=${RESULTS_DIR:-./results}
export SERVER_IMAGE=${SERVER_IMAGE:-wsbench/server:${WSBENCH_TAG:-local}}
export CLIENT_IMAGE=${CLIENT_IMAGE:-wsbench/client-bench:${WSBENCH_TAG:-local}}
export PROMETHEUS_IMAGE=${PROMETHEUS_IMAGE:-wsbench-local/prometheus:2.42}

log() { echo "swarm-bench: $*" >&2; }
die() { log "$*"; exit 1; }
usage_error() { log "$*"; exit 2; }

int_in() { # int_in NAME VALUE MIN MAX
  [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] ||
    usage_error "invalid $1 \"$2\": expected an integer $3-$4"
}
int_in SHARDS "$SHARDS" 1 1024
int_in CLIENTS "$CLIENTS" 1 10000000
int_in DURATION "$DURATION" 1 86400
int_in WARMUP "$WARMUP" 0 86400
int_in RATE "$RATE" 0 100000000
int_in SWARM_LEAD "$SWARM_LEAD" 3 600
int_in CLIENT_WORKERS "$CLIENT_WORKERS" 1 64
[ "$SHARDS" -le "$CLIENTS" ] || usage_error "invalid SHARDS \"$SHARDS\": expected at most CLIENTS ($CLIENTS)"
case "$MODE" in ws-naive | ws | uws) ;; *) usage_error "invalid MODE \"$MODE\": expected ws-naive, ws or uws" ;; esac
[[ "$STACK" =~ ^[a-z0-9][a-z0-9_-]*$ ]] || usage_error "invalid SWARM_STACK \"$STACK\": expected [a-z0-9_-]"
[ -f dist/client-bench/main.js ] || die "dist/client-bench/main.js missing: run make build"

# --- 1. the engine and the swarm
bash scripts/docker-daemon.sh ensure >/dev/null || die "dockerd does not answer"
state=$(docker info -f '{{.Swarm.LocalNodeState}}')
if [ "$state" != active ]; then
  [ "$SWARM_INIT" = 1 ] || usage_error "this Docker engine is not in a swarm (state $state) and SWARM_INIT=0"
  log "initialising a single-node swarm on 127.0.0.1 (docker swarm leave --force undoes it)"
  docker swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 >/dev/null
fi
[ "$(docker info -f '{{.Swarm.ControlAvailable}}')" = true ] ||
  die "this node is a swarm worker: run make swarm-bench on a manager"

# --- 2. images (no registry here: built locally; on several nodes every node needs them)
have_image() { docker image inspect "$1" >/dev/null 2>&1; }
if ! have_image "$SERVER_IMAGE" || ! have_image "$CLIENT_IMAGE" || ! have_image "$PROMETHEUS_IMAGE"; then
  log "building missing images ($SERVER_IMAGE, $CLIENT_IMAGE, $PROMETHEUS_IMAGE)"
  # No NODE_IMAGE given: local stand-ins for the base images (cached; docs/docker.md).
  if [ -z "${NODE_IMAGE:-}" ]; then
    prometheus_image=$PROMETHEUS_IMAGE
    for kv in $(bash docker/build-standins.sh | tail -n 1); do export "${kv?}"; done
    export PROMETHEUS_IMAGE=$prometheus_image
  fi
  bash scripts/stack.sh compose --profile "$MODE" --profile bench build "server-$MODE" client >&2
fi
for image in "$SERVER_IMAGE" "$CLIENT_IMAGE" "$PROMETHEUS_IMAGE"; do
  have_image "$image" || die "image $image is missing"
done

# --- the run's folder: one bind-mounted folder per shard
run_dir="$(mkdir -p "$RESULTS_DIR" && cd "$RESULTS_DIR" && pwd)/swarm-$(date -u +%Y%m%d-%H%M%S)-$MODE"
mkdir -p "$run_dir"
uid=$(id -u)
gid=$(id -g)
# The clients run as the invoking user; root is mapped to uid 1000 and given back afterwards.
[ "$uid" = 0 ] && { uid=1000 gid=1000; }
for k in $(seq 1 "$SHARDS"); do mkdir -p "$run_dir/shard-$k"; done
mkdir -p "$run_dir/targets"
echo '[]' >"$run_dir/targets/server.json"
echo '[]' >"$run_dir/targets/client.json"
chown -R "$uid:$gid" "$run_dir"

export MODE CLIENTS DURATION WARMUP RATE SYMBOLS SHARDS CLIENT_WORKERS
export RUN_DIR=$run_dir WSBENCH_ROOT=$ROOT WSBENCH_UID=$uid WSBENCH_GID=$gid

service_container() { # the running container of a one-replica service
  docker ps -q -f "label=com.docker.swarm.service.name=${STACK}_$1" | head -n 1
}
prom_get() { # prom_get PATH?QUERY -> JSON body, asked inside the Prometheus container
  docker exec "$(service_container prometheus)" wget -q -O- "http://127.0.0.1:9090$1"
}
task_ips() { # task_ips SERVICE -> the overlay address of each of its tasks that is not shut down
  local t
  for t in $(docker service ps -q --filter desired-state=running "${STACK}_$1" 2>/dev/null) \
    $(docker service ps -q --filter desired-state=shutdown "${STACK}_$1" 2>/dev/null); do
    docker inspect -f '{{range .NetworksAttachments}}{{range .Addresses}}{{.}} {{end}}{{end}}' "$t" 2>/dev/null |
      awk '{ sub(/\/.*/, "", $1); if ($1 ~ /^[0-9.]+$/) print $1 }'
  done | sort -u
}
write_targets() { # write_targets NAME PORT IP... -> RUN_DIR/targets/NAME.json (file_sd), atomically
  local name=$1 port=$2 list="" ip
  shift 2
  for ip in "$@"; do list+="${list:+, }\"$ip:$port\""; done
  echo "[{\"targets\": [$list]}]" >"$run_dir/targets/.$name.json"
  mv "$run_dir/targets/.$name.json" "$run_dir/targets/$name.json"
}
stack_rm() {
  docker stack rm "$STACK" >/dev/null 2>&1 || true
  # Networks go a moment after the services; a new deploy must not find the old one.
  local i
  for i in $(seq 1 60); do
    [ -z "$(docker network ls -q -f "label=com.docker.stack.namespace=$STACK")" ] &&
      [ -z "$(docker ps -aq -f "label=com.docker.stack.namespace=$STACK")" ] && return 0
    sleep 1
  done
  log "stack $STACK still has networks or containers after 60 s"
}
finish() {
  local rc=$?
  [ "$uid" != "$(id -u)" ] && chown -R "$(id -u):$(id -g)" "$run_dir" 2>/dev/null
  if [ "$KEEP_STACK" = 1 ]; then
    log "stack $STACK left up (KEEP_STACK=1): make swarm-down removes it"
  else
    stack_rm
  fi
  exit $rc
}

# --- 3. server and Prometheus
stack_rm
trap finish EXIT
trap 'exit 130' INT TERM
log "deploying stack $STACK: server ($MODE, $SERVER_IMAGE) and prometheus ($PROMETHEUS_IMAGE)"
CLIENT_REPLICAS=0 START_AT='' docker stack deploy --resolve-image never -c deploy/swarm/stack.yml "$STACK" >/dev/null
# The server task's address on the stack network, read from the manager (wherever the task
# runs). Clients connect to it and Prometheus scrapes it by address, not by name: Swarm's
# embedded DNS was seen to fail here for the containers of a fresh stack network (ENOTFOUND).
server_ip=''
for i in $(seq 1 60); do
  server_ip=$(task_ips server | head -n 1)
  [ -n "$server_ip" ] && break
  sleep 1
done
[ -n "$server_ip" ] || die "the server task got no address within 60 s: $(docker service ps --no-trunc "${STACK}_server" 2>&1 | tail -n 3)"
export SERVER_URL="ws://$server_ip:8080/"
write_targets server 8080 "$server_ip"
# Asked from inside the stack's network (the Prometheus container): this proves the server and
# the overlay path, not just the process.
health=''
for i in $(seq 1 90); do
  health=$(docker exec "$(service_container prometheus)" wget -q -O- "http://$server_ip:8080/health" 2>/dev/null) && break
  health=''
  sleep 1
done
[ -n "$health" ] || die "the server did not answer $SERVER_URL/health within 90 s: $(docker service ps --no-trunc "${STACK}_server" 2>&1 | tail -n 3)"
log "server up at $server_ip: $health"
prom_get /-/ready >/dev/null 2>&1 || die "prometheus is not ready"

# --- 4. the shards, all starting at the same instant
start_ms=$(($(date +%s%3N) + SWARM_LEAD * 1000))
export START_AT=$start_ms CLIENT_REPLICAS=$SHARDS
log "deploying $SHARDS client-bench replicas ($CLIENTS connections in all) against $SERVER_URL, start at $(date -u -d "@$((start_ms / 1000))" +%H:%M:%SZ), window ${WARMUP}+${DURATION} s"
docker stack deploy --resolve-image never -c deploy/swarm/stack.yml "$STACK" >/dev/null

# --- 5. wait for every shard, then collect
deadline=$((SECONDS + SWARM_LEAD + WARMUP + DURATION + 120))
while :; do
  states=$(docker service ps "${STACK}_client" --format '{{.CurrentState}}' 2>/dev/null | awk '{print $1}')
  done_count=$(grep -cE '^(Complete|Failed|Rejected|Shutdown|Orphaned)$' <<<"$states" || true)
  # Every shard's address (tasks get theirs when they are scheduled) for Prometheus.
  mapfile -t ips < <(task_ips client)
  [ ${#ips[@]} -gt 0 ] && write_targets client 9464 "${ips[@]}"
  [ "$done_count" -ge "$SHARDS" ] && break
  [ "$SECONDS" -lt "$deadline" ] || die "the shards did not finish in time: $(tr '\n' ' ' <<<"$states")"
  sleep 1
done
docker service ps --no-trunc "${STACK}_client" --format '{{.Name}} {{.CurrentState}} {{.Error}}' >"$run_dir/client-tasks.txt"
docker service logs --raw "${STACK}_client" >"$run_dir/client.log" 2>&1 || true
docker service logs --raw "${STACK}_server" >"$run_dir/server.log" 2>&1 || true
log "shards: $(awk '{print $1 "=" $2}' "$run_dir/client-tasks.txt" | tr '\n' ' ')"

results=()
for k in $(seq 1 "$SHARDS"); do
  f="$run_dir/shard-$k/result.json"
  if [ -s "$f" ]; then results+=("$f"); else log "shard $k wrote no result ($f)"; fi
done
if [ ${#results[@]} -lt "$SHARDS" ]; then
  log "client log (last lines):"
  grep -v '^{"event"' "$run_dir/client.log" | tail -n 6 >&2 || true
fi
[ ${#results[@]} -gt 0 ] || die "no shard wrote a result; logs in $run_dir"

# Which shards Prometheus scraped, per shard label, for this run (kept beside the results).
run_id=$(node -e 'console.log(JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8")).runId)' "${results[0]}")
query="count by (shard) (last_over_time(wsbench_client_messages_received_total{job=\"wsbench-client\",run_id=\"$run_id\"}[30m]))"
q=$(node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$query")
prom_get "/api/v1/query?query=$q" >"$run_dir/prometheus-shards.json" || log "prometheus query failed: $query"

rc=0
node dist/client-bench/main.js merge "${results[@]}" -o "$run_dir/result.json" >&2 || rc=$?
case $rc in
  0) log "merged ${#results[@]} shards into $run_dir/result.json" ;;
  3) log "merged result written, but a shard is missing or aborted: $run_dir/result.json" ;;
  *) log "merge failed (exit $rc)"; exit $rc ;;
esac
echo "$run_dir"
exit $rc
