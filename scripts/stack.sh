#!/usr/bin/env bash
# The Docker Compose stack, as the Makefile uses it (mk/docker.mk):
#   scripts/stack.sh up              # MODE=ws-naive|ws|uws|all, GRAFANA=1|0; waits for health
#   scripts/stack.sh down            # every container, network and volume of the stack
#   scripts/stack.sh logs | ps
#   scripts/stack.sh runtime         # prints "docker" when a server of the stack runs, else "native"
#   scripts/stack.sh modes           # the modes whose server container runs, one a line
#   scripts/stack.sh compose ARGS... # the compose command with the stack's project and .env
#   scripts/stack.sh serve           # (re)start MODE's server with the current RATE etc., wait
#   scripts/stack.sh up-images       # build the images and start Prometheus (make compare)
#   scripts/stack.sh placement       # the cpusets server and client get, and why
#   scripts/stack.sh images          # the base images make up would use, as NAME=image lines
# Compose: `docker compose` (v2) when it works, else `docker-compose` (v1.29); WSBENCH_COMPOSE
# overrides. Project name: WSBENCH_PROJECT (default wsbench).
# Node: NODE_VERSION (24 = the pinned 24.x, see docker/node-version.sh) picks the official base
# node:<version>-trixie-slim; NODE_IMAGE names another base (a mirror, a local stand-in).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=docker/node-version.sh
. docker/node-version.sh

PROJECT=${WSBENCH_PROJECT:-wsbench}
ALL_PROFILES=(ws-naive ws uws all bench grafana)
SERVER_MODES=(ws-naive ws uws)

log() { echo "stack: $*" >&2; }
die() { log "$*"; exit 1; }
bad() { log "$*"; exit 2; } # bad input (MODE, GRAFANA, ...): exit 2 as everywhere in wsbench

compose_cmd() {
  if [ -n "${WSBENCH_COMPOSE:-}" ]; then
    read -r -a COMPOSE <<<"$WSBENCH_COMPOSE"
  elif docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
  elif command -v docker-compose >/dev/null 2>&1; then
    COMPOSE=(docker-compose)
  else
    die "neither 'docker compose' nor 'docker-compose' works (install them with: make deps)"
  fi
}

compose() { # compose [--profile P]... ARGS
  WSBENCH_TARGETS_DIR="$TARGETS_DIR" "${COMPOSE[@]}" -p "$PROJECT" -f docker-compose.yml "$@"
}
# Prometheus' scrape targets (docker/prometheus.yml reads them), one folder per project.
TARGETS_DIR="$PWD/.cache/docker/$PROJECT/targets"

# The base images of the stack, exported for compose: NODE_IMAGE from NODE_VERSION unless given.
# When a default (official) image is neither here nor pullable but the local stand-in of
# `make standins` is, the stand-in is used (make up says so). `resolve_images pull` may pull
# (make up); without it only local images are looked at (quick and quiet, for `compose run`).
resolve_images() {
  local may_pull=${1:-} official
  NODE_VERSION=$(node_full_version "$(setting NODE_VERSION "$(node_default_major)")") || exit 2
  official="node:$NODE_VERSION-trixie-slim"
  NODE_IMAGE=$(setting NODE_IMAGE '')
  [ -n "$NODE_IMAGE" ] || NODE_IMAGE=$(standin_or "$official" "wsbench-local/node:$NODE_VERSION-trixie" "$may_pull")
  PROMETHEUS_IMAGE=$(setting PROMETHEUS_IMAGE '')
  [ -n "$PROMETHEUS_IMAGE" ] || PROMETHEUS_IMAGE=$(standin_or prom/prometheus:v2.53.2 wsbench-local/prometheus:2.42 "$may_pull")
  export NODE_VERSION NODE_IMAGE PROMETHEUS_IMAGE
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

standin_or() { # standin_or OFFICIAL STANDIN [pull]: prints the image to use
  local official=$1 standin=$2
  if have_image "$official"; then echo "$official"; return; fi
  if [ "${3:-}" = pull ] && docker pull -q "$official" >/dev/null 2>&1; then echo "$official"; return; fi
  if have_image "$standin"; then
    [ "${3:-}" = pull ] && log "$official is not here and cannot be pulled: using the local stand-in $standin"
    echo "$standin"
    return
  fi
  echo "$official"
}

# The cpusets of server and client, exported for compose: SERVER_CPUSET/CLIENT_CPUSET when given;
# else, as native runs do (PIN=auto|1), the server on the first CPU dockerd may use and the client
# on the second when there are >= 2; PIN=0 leaves both unpinned. PLACEMENT says which and why.
place() {
  local s c pin cpus
  s=$(setting SERVER_CPUSET '')
  c=$(setting CLIENT_CPUSET '')
  pin=$(setting PIN auto)
  case "$pin" in auto | 1 | 0) ;; *) bad "invalid PIN \"$pin\": expected auto, 1 or 0" ;; esac
  if [ -n "$s$c" ]; then
    PLACEMENT="server cpuset ${s:-any}, client cpuset ${c:-any} (SERVER_CPUSET/CLIENT_CPUSET)"
  elif [ "$pin" = 0 ]; then
    PLACEMENT="not pinned (PIN=0)"
  else
    read -r -a cpus <<<"$(allowed_cpus)"
    if [ ${#cpus[@]} -ge 2 ]; then
      s=${cpus[0]}
      c=${cpus[1]}
      PLACEMENT="server cpuset $s, client cpuset $c (${#cpus[@]} CPUs, as native runs)"
    else
      [ "$pin" = 1 ] && die "PIN=1 but only ${#cpus[@]} CPU is available"
      PLACEMENT="not pinned (only ${#cpus[@]} CPU)"
    fi
  fi
  SERVER_CPUSET=$s
  CLIENT_CPUSET=$c
  export SERVER_CPUSET CLIENT_CPUSET PLACEMENT
}

# The CPUs this machine lets processes use (dockerd's cpuset is the same on a plain host).
allowed_cpus() {
  local list part a b out=()
  list=$(awk '/^Cpus_allowed_list:/ { print $2 }' /proc/self/status)
  IFS=, read -r -a parts <<<"$list"
  for part in "${parts[@]}"; do
    a=${part%-*}
    b=${part#*-}
    for ((i = a; i <= b; i++)); do out+=("$i"); done
  done
  echo "${out[*]}"
}

# Every server's and the client's address on the host network, for Prometheus (file_sd JSON).
write_targets() {
  mkdir -p "$TARGETS_DIR"
  chmod 755 "$TARGETS_DIR" "$(dirname "$TARGETS_DIR")"
  local tmp="$TARGETS_DIR/.server.json.tmp"
  printf '[\n  { "targets": ["127.0.0.1:%s"], "labels": { "mode": "ws-naive" } },\n  { "targets": ["127.0.0.1:%s"], "labels": { "mode": "ws" } },\n  { "targets": ["127.0.0.1:%s"], "labels": { "mode": "uws" } }\n]\n' \
    "$(setting SERVER_WS_NAIVE_PORT 8081)" "$(setting SERVER_WS_PORT 8082)" "$(setting SERVER_UWS_PORT 8083)" >"$tmp"
  mv "$tmp" "$TARGETS_DIR/server.json"
  tmp="$TARGETS_DIR/.client.json.tmp"
  printf '[{ "targets": ["127.0.0.1:%s"] }]\n' "$(setting CLIENT_METRICS_PORT 9464)" >"$tmp"
  mv "$tmp" "$TARGETS_DIR/client.json"
  chmod 644 "$TARGETS_DIR"/*.json
}

all_profiles() {
  local p
  for p in "${ALL_PROFILES[@]}"; do printf -- '--profile %s ' "$p"; done
}

random_password() {
  node -e 'process.stdout.write(require("node:crypto").randomBytes(18).toString("base64url"))' 2>/dev/null ||
    head -c 18 /dev/urandom | base64 | tr '+/' '-_' | tr -d '='
}

# First use: .env from .env.example with a random Grafana admin password (never a known default).
ensure_env() {
  if [ ! -f .env ]; then
    cp .env.example .env
    chmod 600 .env
    log "created .env from .env.example"
  fi
  if grep -qE '^GRAFANA_ADMIN_PASSWORD=\s*$' .env; then
    local pw
    pw=$(random_password)
    sed -i -E "s|^GRAFANA_ADMIN_PASSWORD=\s*$|GRAFANA_ADMIN_PASSWORD=$pw|" .env
    log "wrote a random Grafana admin password into .env (GRAFANA_ADMIN_PASSWORD)"
  fi
}

# Reads one variable: the environment wins over .env, as in compose.
setting() {
  local name=$1 default=$2 v
  v=${!name:-}
  if [ -z "$v" ] && [ -f .env ]; then
    v=$(sed -n -E "s/^$name=(.*)$/\1/p" .env | tail -n 1)
  fi
  echo "${v:-$default}"
}

validate() {
  case "${MODE:=uws}" in
    ws-naive | ws | uws | all) ;;
    *) bad "invalid MODE \"$MODE\": expected ws-naive, ws, uws or all" ;;
  esac
  case "${GRAFANA:=1}" in
    0 | 1) ;;
    *) bad "invalid GRAFANA \"$GRAFANA\": expected 1 (start Grafana) or 0 (leave it out)" ;;
  esac
  local anon
  anon=$(setting GRAFANA_ANONYMOUS false)
  case "$anon" in
    true | false) ;;
    *) bad "invalid GRAFANA_ANONYMOUS \"$anon\": expected true or false" ;;
  esac
  local var val
  for var in SERVER_WS_NAIVE_PORT SERVER_WS_PORT SERVER_UWS_PORT PROMETHEUS_PORT GRAFANA_PORT CLIENT_METRICS_PORT; do
    val=$(setting "$var" 1)
    [[ "$val" =~ ^[0-9]+$ ]] && [ "$val" -ge 1 ] && [ "$val" -le 65535 ] ||
      bad "invalid $var \"$val\": expected a TCP port 1-65535 (on 127.0.0.1 of the host network)"
  done
  # Grafana's provisioned datasource is http://prometheus:9090 ("prometheus" = this host).
  if [ "$GRAFANA" = 1 ] && [ "$(setting PROMETHEUS_PORT 9090)" != 9090 ]; then
    bad "invalid PROMETHEUS_PORT \"$(setting PROMETHEUS_PORT 9090)\" with Grafana: its datasource expects 9090 (or: make up GRAFANA=0)"
  fi
  for var in SERVER_CPUS CLIENT_CPUS; do
    val=$(setting "$var" 0)
    [[ "$val" =~ ^[0-9]+(\.[0-9]+)?$ ]] || bad "invalid $var \"$val\": expected a number of CPUs (0 = no limit)"
  done
  for var in SERVER_CPUSET CLIENT_CPUSET; do
    val=$(setting "$var" '')
    [[ -z "$val" || "$val" =~ ^[0-9]+([-,][0-9]+)*$ ]] || bad "invalid $var \"$val\": expected CPU numbers like 0 or 0-1 or 0,2 (empty = any)"
  done
}

container_of() { compose $(all_profiles) ps -q "$1" 2>/dev/null | head -n 1; }

# Waits until each service's container reports healthy; shows its logs when it exits or fails.
wait_healthy() {
  local timeout=${WAIT_TIMEOUT:-180} svc id status deadline
  deadline=$((SECONDS + timeout))
  for svc in "$@"; do
    while :; do
      id=$(container_of "$svc")
      status=$([ -n "$id" ] && docker inspect -f '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id" 2>/dev/null || echo missing/)
      case "$status" in
        running/healthy | running/) break ;;
        exited/* | dead/* | */unhealthy)
          compose $(all_profiles) logs --tail=40 "$svc" >&2 || true
          die "$svc is $status"
          ;;
      esac
      [ $SECONDS -lt $deadline ] || {
        compose $(all_profiles) logs --tail=40 "$svc" >&2 || true
        die "$svc not healthy after ${timeout}s (status $status)"
      }
      sleep 1
    done
    log "$svc is healthy"
  done
}

cmd_up() {
  validate
  ensure_env
  bash scripts/docker-daemon.sh ensure >/dev/null
  resolve_images pull
  place
  local profiles=() services=() m
  if [ "$MODE" = all ]; then
    for m in "${SERVER_MODES[@]}"; do services+=("server-$m"); done
  else
    services=("server-$MODE")
    # A fair run has one server on the CPUs: stop the servers of the other modes.
    for m in "${SERVER_MODES[@]}"; do
      [ "$m" = "$MODE" ] && continue
      if [ -n "$(container_of "server-$m")" ]; then
        log "stopping server-$m (MODE=$MODE)"
        compose $(all_profiles) rm -s -f "server-$m" >/dev/null
      fi
    done
  fi
  profiles=(--profile "$MODE" --profile bench)
  services+=(prometheus)
  [ "$GRAFANA" = 1 ] && profiles+=(--profile grafana) && services+=(grafana)
  log "up: project $PROJECT, services ${services[*]} (${COMPOSE[*]})"
  log "images: NODE_IMAGE=$NODE_IMAGE (Node $NODE_VERSION) PROMETHEUS_IMAGE=$PROMETHEUS_IMAGE"
  # Before the build: a missing base image is one line with the way out, not Docker's raw error.
  pull_or_explain NODE_IMAGE "$NODE_IMAGE" \
    "build local stand-ins with 'make standins NODE_VERSION=$NODE_VERSION' (make up then uses them)"
  pull_or_explain PROMETHEUS_IMAGE "$PROMETHEUS_IMAGE" \
    "build local stand-ins with 'make standins' (make up then uses them)"
  [ "$GRAFANA" = 1 ] && pull_or_explain GRAFANA_IMAGE grafana/grafana-oss:11.2.0 \
    "start the stack without Grafana: make up GRAFANA=0 (Prometheus still records everything)"
  log "placement: $PLACEMENT"
  # The client image is built now too, so that `make bench` starts at once.
  local buildable=(client)
  for m in "${services[@]}"; do [[ "$m" == server-* ]] && buildable+=("$m"); done
  # v1 (legacy builder) keeps the container of a failed step unless told not to.
  local rm_failed=()
  [ "${COMPOSE[*]}" = docker-compose ] && rm_failed=(--force-rm)
  compose "${profiles[@]}" build "${rm_failed[@]}" "${buildable[@]}"
  write_targets
  compose "${profiles[@]}" up -d "${services[@]}"
  wait_healthy "${services[@]}"
  print_urls "${services[@]}"
}

# A third-party image that is neither here nor pullable (no registry) stops make up with advice.
pull_or_explain() {
  local var=$1 default=$2 advice=$3 image
  image=$(setting "$var" "$default")
  docker image inspect "$image" >/dev/null 2>&1 && return 0
  log "pulling $image"
  docker pull -q "$image" >/dev/null 2>&1 && return 0
  die "image $image ($var) is not here and cannot be pulled: $advice"
}

# make compare with RUNTIMES=docker: the images built (cached when nothing changed) and Prometheus
# up, no server yet (serve starts one per run).
cmd_up_images() {
  GRAFANA=0 MODE=uws validate
  ensure_env
  bash scripts/docker-daemon.sh ensure >/dev/null
  resolve_images pull
  place
  log "images: NODE_IMAGE=$NODE_IMAGE (Node $NODE_VERSION) PROMETHEUS_IMAGE=$PROMETHEUS_IMAGE; placement: $PLACEMENT"
  pull_or_explain NODE_IMAGE "$NODE_IMAGE" \
    "build local stand-ins with 'make standins NODE_VERSION=$NODE_VERSION' (make up then uses them)"
  pull_or_explain PROMETHEUS_IMAGE "$PROMETHEUS_IMAGE" \
    "build local stand-ins with 'make standins' (make up then uses them)"
  local rm_failed=()
  [ "${COMPOSE[*]}" = docker-compose ] && rm_failed=(--force-rm)
  compose --profile uws --profile bench build "${rm_failed[@]}" server-uws client >&2
  write_targets
  compose up -d prometheus >&2
  wait_healthy prometheus
}

# (Re)starts MODE's server with the current settings (RATE, SYMBOLS, ... from the environment):
# compose recreates the container only when they changed. Used by the Docker runtime of
# make bench/compare, one run at a time; the images must exist (make up builds them).
cmd_serve() {
  GRAFANA=0 validate # serve starts no Grafana
  [ "$MODE" != all ] || bad "invalid MODE \"all\" for serve: expected ws-naive, ws or uws"
  ensure_env
  resolve_images
  place
  local m
  for m in "${SERVER_MODES[@]}"; do
    [ "$m" = "$MODE" ] && continue
    [ -z "$(container_of "server-$m")" ] || compose $(all_profiles) rm -s -f "server-$m" >/dev/null 2>&1
  done
  write_targets
  compose --profile "$MODE" up -d --no-build "server-$MODE" prometheus >&2
  wait_healthy "server-$MODE" prometheus
}

print_urls() {
  local svc
  echo
  for svc in "$@"; do
    case "$svc" in
      server-ws-naive) echo "  server ws-naive  ws://127.0.0.1:$(setting SERVER_WS_NAIVE_PORT 8081)/  (GET /health, /metrics, /snapshot)" ;;
      server-ws) echo "  server ws        ws://127.0.0.1:$(setting SERVER_WS_PORT 8082)/" ;;
      server-uws) echo "  server uws       ws://127.0.0.1:$(setting SERVER_UWS_PORT 8083)/" ;;
      prometheus) echo "  prometheus       http://127.0.0.1:$(setting PROMETHEUS_PORT 9090)/" ;;
      grafana) echo "  grafana          http://127.0.0.1:$(setting GRAFANA_PORT 3000)/d/wsbench-overview  (user $(setting GRAFANA_ADMIN_USER admin), password in .env)" ;;
    esac
  done
  echo
  echo "  next: make bench CLIENTS=100 DURATION=30   |   make logs   |   make down"
}

cmd_down() {
  ensure_env
  # Every profile, so that no service of the stack is left behind whatever MODE started it.
  compose $(all_profiles) down -v --remove-orphans
}

cmd_logs() {
  ensure_env
  local follow=()
  [ -t 1 ] && follow=(-f)
  compose $(all_profiles) logs --tail="${TAIL:-200}" "${follow[@]}"
}

cmd_ps() {
  ensure_env
  compose $(all_profiles) ps
}

# Only docker itself, no compose: this runs for every `make bench` and must be quick and quiet.
running_servers() {
  command -v docker >/dev/null 2>&1 || return 0
  timeout 10 docker ps --filter "label=com.docker.compose.project=$PROJECT" \
    --filter label=wsbench.role=server --filter status=running \
    --format '{{.Label "wsbench.mode"}}' 2>/dev/null || true
}

case "${1:-}" in
  up) compose_cmd && cmd_up ;;
  down) compose_cmd && cmd_down ;;
  logs) compose_cmd && cmd_logs ;;
  ps) compose_cmd && cmd_ps ;;
  compose)
    shift
    compose_cmd
    ensure_env
    resolve_images
    place
    compose "$@"
    ;;
  serve) compose_cmd && cmd_serve ;;
  up-images) compose_cmd && cmd_up_images ;;
  placement)
    place
    echo "SERVER_CPUSET=$SERVER_CPUSET"
    echo "CLIENT_CPUSET=$CLIENT_CPUSET"
    echo "PLACEMENT=$PLACEMENT"
    ;;
  images)
    resolve_images
    echo "NODE_VERSION=$NODE_VERSION"
    echo "NODE_IMAGE=$NODE_IMAGE"
    echo "PROMETHEUS_IMAGE=$PROMETHEUS_IMAGE"
    ;;
  runtime) if [ -n "$(running_servers)" ]; then echo docker; else echo native; fi ;;
  modes) running_servers | sort -u ;;
  *) bad "unknown command \"${1:-}\": expected up, down, logs, ps, serve, up-images, runtime, modes, placement, images or compose" ;;
esac
