#!/usr/bin/env bash
# make test-docker: the Docker Compose stack end to end, on a machine that reaches no image
# registry. Real dockerd, real images, real Prometheus; nothing mocked.
#  1. installs docker.io/docker-compose when missing and starts dockerd when it does not answer;
#  2. make up with a base image that is neither here nor pullable: one line naming make standins;
#     then builds (or reuses) the local stand-ins (Debian 13 + Node 24, Prometheus);
#  3. make up MODE=uws GRAFANA=0 (Node 24 images, host network, server on CPU 0 and client on
#     CPU 1 when there are 2), waits for health, make bench (10 clients, 5 s), asks Prometheus for
#     server and client series labelled with the mode, checks result.json;
#  4. the same for MODE=ws (which must also stop the uws server);
#  5. Docker/native: make bench natively with the same settings, prints the ratio (a figure, not
#     a check: the machine may be shared);
#  6. make down, then no container, network or volume of the stack is left;
#  7. docker-compose config validates with Grafana and every profile.
# Runs as its own compose project (WSBENCH_PROJECT=wsbench-e2e) on free ports, with results in a
# temporary RESULTS_DIR, so a user's stack and ./results are not touched. Prints TAP-like lines;
# exits 1 when a check fails. Stops a dockerd it started (KEEP_DOCKERD=1 leaves it running).
set -uo pipefail
cd "$(dirname "$0")/.."

export WSBENCH_PROJECT=wsbench-e2e
export CLIENTS=${E2E_CLIENTS:-10} DURATION=${E2E_DURATION:-5} WARMUP=${E2E_WARMUP:-2}
MODES_UNDER_TEST=(uws ws)
T0=$SECONDS
failures=0
checks=0
declare -A MSGS

elapsed() { printf '%3ds' $((SECONDS - T0)); }
step() { echo "# [$(elapsed)] $*"; }
ok() {
  checks=$((checks + 1))
  echo "ok $checks - $*"
}
not_ok() {
  checks=$((checks + 1))
  failures=$((failures + 1))
  echo "not ok $checks - $*"
}
check() { # check "description" command...
  local desc=$1
  shift
  if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
abort() {
  not_ok "$*"
  exit 1
}

free_port() {
  node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}

# --- 1. the engine
step "docker engine"
daemon_state=$(bash scripts/docker-daemon.sh ensure) || abort "dockerd is installed and answers"
ok "dockerd answers ($daemon_state; client $(docker version -f '{{.Client.Version}}' 2>/dev/null), engine $(docker version -f '{{.Server.Version}}' 2>/dev/null))"

had_env=0
[ -f .env ] && had_env=1
results=$(mktemp -d /tmp/wsbench-e2e-results.XXXXXX)
export RESULTS_DIR=$results
chmod 755 "$results"
log_dir=$(mktemp -d /tmp/wsbench-e2e-logs.XXXXXX)

cleanup() {
  local rc=$?
  step "cleanup"
  make --no-print-directory down >"$log_dir/down-final.log" 2>&1 || true
  rm -rf "$results"
  [ "$had_env" = 1 ] || rm -f .env
  if [ "$daemon_state" = started ] && [ "${KEEP_DOCKERD:-0}" != 1 ]; then
    bash scripts/docker-daemon.sh stop || true
  fi
  if [ "$rc" = 0 ]; then rm -rf "$log_dir"; else echo "# logs of this run: $log_dir"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A previous run that was killed may have left its project behind.
make --no-print-directory down >"$log_dir/down-initial.log" 2>&1 || true

# --- 2. a base image that is not here: one line with the way out, before any build
step "make up with a base image that is neither here nor pullable"
missing=wsbench-local/node:0.0.0-missing
if NODE_IMAGE=$missing timeout 60 make --no-print-directory up MODE=uws GRAFANA=0 >"$log_dir/up-missing.log" 2>&1; then
  not_ok "make up NODE_IMAGE=$missing fails"
else
  check "make up NODE_IMAGE=$missing names the way out in one line: $(grep -m1 "is not here" "$log_dir/up-missing.log")" \
    grep -q "image $missing (NODE_IMAGE) is not here and cannot be pulled: build local stand-ins with 'make standins" "$log_dir/up-missing.log"
  check "... and does not reach Docker's build (no raw registry error)" bash -c "! grep -qiE 'no such host|Step [0-9]+/' '$log_dir/up-missing.log'"
fi

# --- stand-in base images (cached by tag)
step "stand-in base images"
standins=$(bash docker/build-standins.sh 24 2>"$log_dir/standins.log" | tail -n 1) || {
  cat "$log_dir/standins.log"
  abort "stand-in images built"
}
cat "$log_dir/standins.log"
for kv in $standins; do export "${kv?}"; done
[ -n "${NODE_IMAGE:-}" ] && [ -n "${PROMETHEUS_IMAGE:-}" ] || abort "stand-in image names from build-standins.sh"
case "$NODE_IMAGE$PROMETHEUS_IMAGE" in
  *wsbench-local/*wsbench-local/*) ok "stand-ins under local names: $NODE_IMAGE, $PROMETHEUS_IMAGE" ;;
  *) not_ok "stand-ins under local names (got $NODE_IMAGE, $PROMETHEUS_IMAGE)" ;;
esac

export SERVER_WS_NAIVE_PORT=$(free_port) SERVER_WS_PORT=$(free_port) SERVER_UWS_PORT=$(free_port)
export PROMETHEUS_PORT=$(free_port) GRAFANA_PORT=$(free_port) CLIENT_METRICS_PORT=$(free_port)
ncpu=$(bash scripts/stack.sh placement | sed -n 's/^SERVER_CPUSET=//p')

compose() { bash scripts/stack.sh compose "$@"; }
container() { compose --profile "$1" ps -q "$2" 2>/dev/null | head -n 1; }

prom_query() { # value of a one-number PromQL query (Prometheus is on the host network)
  local q
  q=$(node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$1")
  curl -fsS "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/query?query=$q" |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => { const r = JSON.parse(s).data.result; console.log(r.length ? r[0].value[1] : "none"); })'
}

json_field() { # json_field FILE EXPR  (EXPR is JavaScript over `r`)
  node -e 'const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8")); const v = eval(process.argv[2]); console.log(typeof v === "object" ? JSON.stringify(v) : v)' "$1" "$2"
}

port_of() {
  case "$1" in ws-naive) echo "$SERVER_WS_NAIVE_PORT" ;; ws) echo "$SERVER_WS_PORT" ;; uws) echo "$SERVER_UWS_PORT" ;; esac
}

for mode in "${MODES_UNDER_TEST[@]}"; do
  # --- 3./4. up, bench, Prometheus, result
  step "make up MODE=$mode GRAFANA=0"
  if make --no-print-directory up MODE="$mode" GRAFANA=0 >"$log_dir/up-$mode.log" 2>&1; then
    ok "make up MODE=$mode GRAFANA=0: server-$mode and prometheus healthy"
  else
    tail -n 40 "$log_dir/up-$mode.log"
    abort "make up MODE=$mode GRAFANA=0"
  fi
  check "only server-$mode runs (modes: $(bash scripts/stack.sh modes | tr '\n' ' '))" \
    test "$(bash scripts/stack.sh modes | tr '\n' ' ')" = "$mode "
  check "grafana is left out with GRAFANA=0" test -z "$(container grafana grafana)"
  check "make sees the stack: RUNTIME=docker" bash -c 'make --no-print-directory help | grep -q "RUNTIME=docker "'
  sid=$(container "$mode" "server-$mode")
  for svc in "server-$mode" prometheus; do
    net=$(docker inspect -f '{{.HostConfig.NetworkMode}}' "$(container "$mode" "$svc")")
    check "$svc on the host network ($net)" test "$net" = host
  done
  for p in "$(port_of "$mode")" "$PROMETHEUS_PORT"; do
    listen=$(ss -ltnH "sport = :$p" | awk '{ print $4 }' | sort -u | tr '\n' ' ')
    check "port $p listens on 127.0.0.1 only ($listen)" test "$listen" = "127.0.0.1:$p "
  done
  cpuset=$(docker inspect -f '{{.HostConfig.CpusetCpus}}' "$sid")
  check "server cpuset \"$cpuset\" as native runs place it (\"$ncpu\")" test "$cpuset" = "$ncpu"
  health=$(curl -fsS "http://127.0.0.1:$(port_of "$mode")/health")
  field() { node -e 'const h = JSON.parse(process.argv[1]); console.log(eval(process.argv[2]) ?? "none")' "$health" "$1"; }
  check "GET /health on 127.0.0.1:$(port_of "$mode") says mode $mode" test "$(field h.mode)" = "$mode"
  check "the server image runs Node 24 ($(field h.runtime.node))" bash -c '[[ "$1" == v24.* ]]' _ "$(field h.runtime.node)"
  if [ "$mode" = uws ]; then
    check "uws loaded a native uWS binary for Node 24 ($(field 'h.runtime.uws && h.runtime.uws.package + "@" + h.runtime.uws.version + " " + h.runtime.uws.binary'))" \
      test "$(field 'h.runtime.uws && h.runtime.uws.package')" = @btc-vision/uwebsockets.js
  fi
  user=$(docker inspect -f '{{.Config.User}}' "$(container "$mode" "server-$mode")")
  check "server container runs as a non-root user ($user)" test -n "$user" -a "$user" != root -a "$user" != 0

  step "make bench MODE=$mode CLIENTS=$CLIENTS DURATION=$DURATION"
  if flock /tmp/wsbench-bench.lock make --no-print-directory bench MODE="$mode" HTTP_LOAD=0 >"$log_dir/bench-$mode.log" 2>&1; then
    ok "make bench (docker) exits 0"
  else
    tail -n 40 "$log_dir/bench-$mode.log"
    not_ok "make bench (docker) exits 0"
  fi
  check "make bench says it used the docker runtime" grep -q 'runtime docker' "$log_dir/bench-$mode.log"
  line=$(grep '^{"event":"result"' "$log_dir/bench-$mode.log" | tail -n 1)
  result=$(node -e 'console.log(JSON.parse(process.argv[1]).result)' "$line" 2>/dev/null)
  run_id=$(node -e 'console.log(JSON.parse(process.argv[1]).runId)' "$line" 2>/dev/null)
  check "result.json landed on the host under RESULTS_DIR ($result)" test -f "$result" -a "${result#"$results"/}" != "$result"
  if [ -f "$result" ]; then
    check "result: target mode $mode" test "$(json_field "$result" 'r.target.mode')" = "$mode"
    check "result: runtime docker" test "$(json_field "$result" 'r.bench.runtime')" = docker
    check "result: messages delivered (> 0)" test "$(json_field "$result" 'r.delivery.received > 0')" = true
    check "result: not aborted" test "$(json_field "$result" 'r.aborted')" = null
    check "result: server CPU measured" test "$(json_field "$result" 'r.server.cpuCores > 0')" = true
    check "report.md and report.html written" test -s "$(dirname "$result")/report.md" -a -s "$(dirname "$result")/report.html"
    check "result files belong to the host user" test "$(stat -c %u "$result")" = "$(id -u)"
    MSGS[$mode]=$(json_field "$result" 'Math.round(r.throughput.msgsPerSec)')
  fi
  check "make bench printed the Grafana URL of the run" \
    grep -qE "grafana http://127\.0\.0\.1:$GRAFANA_PORT/d/[A-Za-z0-9_-]+\?from=[0-9]+&to=[0-9]+&var-mode=$mode" "$log_dir/bench-$mode.log"

  step "Prometheus has the run's series"
  n=$(prom_query "count(last_over_time(wsbench_server_messages_sent_total{job=\"wsbench-server\",mode=\"$mode\"}[10m]) > 0)")
  check "server series wsbench_server_messages_sent_total{mode=\"$mode\"} > 0 ($n)" test "$n" = 1
  n=$(prom_query "count(last_over_time(process_resident_memory_bytes{job=\"wsbench-server\",mode=\"$mode\"}[10m]))")
  check "server default metrics labelled mode=\"$mode\" ($n)" test "$n" = 1
  n=$(prom_query "count(last_over_time(wsbench_client_messages_received_total{job=\"wsbench-client\",mode=\"$mode\",run_id=\"$run_id\"}[10m]) > 0)")
  check "client series wsbench_client_messages_received_total{mode=\"$mode\",run_id=\"$run_id\"} > 0 ($n)" test "$n" = 1
done

# --- 4b. faults: the server crashes mid-window and its restart policy brings it back; the client
# container is killed mid-window.
mode=uws
step "faults: make up MODE=$mode; the server process SIGKILLed mid-window (restart policy)"
if make --no-print-directory up MODE="$mode" RATE=500 GRAFANA=0 >"$log_dir/up-faults.log" 2>&1; then
  sid=$(container "$mode" "server-$mode")
  check "server-$mode has restart policy on-failure" test "$(docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' "$sid")" = on-failure
  flock /tmp/wsbench-bench.lock make --no-print-directory bench MODE="$mode" RATE=500 DURATION=12 WARMUP=1 \
    ON_SERVER_CLOSE=reconnect HTTP_LOAD=0 >"$log_dir/bench-crash.log" 2>&1 &
  bench_pid=$!
  # the window is running once the server counts every client (+ warm-up and a margin)
  for _ in $(seq 1 300); do
    n=$(curl -fsS "http://127.0.0.1:$(port_of "$mode")/health" 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).clients)}catch{console.log(0)}})')
    [ "${n:-0}" -ge "$CLIENTS" ] && break
    sleep 0.1
  done
  sleep 4
  init_pid=$(docker inspect -f '{{.State.Pid}}' "$sid")
  node_pid=$(pgrep -P "$init_pid" | head -n 1)
  kill -KILL "${node_pid:-$init_pid}"
  wait "$bench_pid"
  rc=$?
  check "make bench ON_SERVER_CLOSE=reconnect exits 0 through the crash (exit $rc)" test "$rc" = 0
  line=$(grep '^{"event":"result"' "$log_dir/bench-crash.log" | tail -n 1)
  result=$(node -e 'console.log(JSON.parse(process.argv[1]).result)' "$line" 2>/dev/null)
  if [ -f "$result" ]; then
    check "result: every client lost the server ($(json_field "$result" 'r.serverLoss && r.serverLoss.closed') of $CLIENTS)" \
      test "$(json_field "$result" 'r.serverLoss && r.serverLoss.closed')" = "$CLIENTS"
    check "result: every client receives again, outage $(json_field "$result" 'r.serverLoss && r.serverLoss.outageSec') s (< 10)" \
      test "$(json_field "$result" 'r.serverLoss.recovered && r.serverLoss.outageSec < 10')" = true
    check "result: the container restarted by its policy ($(json_field "$result" 'r.bench.docker.server && r.bench.docker.server.restarts')x)" \
      test "$(json_field "$result" 'r.bench.docker.server.restarts >= 1')" = true
    check "result: no gaps counted from the restarted server's new seqs" test "$(json_field "$result" 'r.delivery.gaps')" = 0
    check "make bench printed the outage" grep -q 'server lost: .* receiving again after' "$log_dir/bench-crash.log"
  else
    tail -n 30 "$log_dir/bench-crash.log"
    not_ok "result.json of the crash run ($result)"
  fi
  n=$(prom_query "changes(process_start_time_seconds{job=\"wsbench-server\",mode=\"$mode\"}[5m])")
  check "Prometheus kept the server's series across the restart (process start changed ${n}x)" \
    node -e 'process.exit(Number(process.argv[1]) >= 1 ? 0 : 1)' "$n"

  step "faults: the client container killed mid-window"
  flock /tmp/wsbench-bench.lock make --no-print-directory bench MODE="$mode" RATE=500 DURATION=20 WARMUP=1 \
    HTTP_LOAD=0 >"$log_dir/bench-clientkill.log" 2>&1 &
  bench_pid=$!
  cid=""
  for _ in $(seq 1 300); do
    cid=$(docker ps -q --filter "label=com.docker.compose.project=$WSBENCH_PROJECT" --filter label=wsbench.role=client | head -n 1)
    [ -n "$cid" ] && break
    sleep 0.1
  done
  sleep 6
  [ -n "$cid" ] && docker kill "$cid" >/dev/null
  wait "$bench_pid"
  rc=$?
  check "make bench with its client container killed fails (exit $rc, not 0)" test "$rc" != 0
  line=$(grep '^{"event":"result"' "$log_dir/bench-clientkill.log" | tail -n 1)
  result=$(node -e 'console.log(JSON.parse(process.argv[1]).result)' "$line" 2>/dev/null)
  if [ -f "$result" ]; then
    reason=$(json_field "$result" 'r.aborted && r.aborted.reason')
    check "the partial result says the client died (137) and what its last scrape counted: $reason" \
      bash -c '[[ "$1" == *"code 137"*"last Prometheus scrape"*"ticks received in the window"* ]]' _ "$reason"
    check "the partial result keeps the server's side of the window" \
      test "$(json_field "$result" 'r.serverWindow !== null && r.serverWindow.messagesSent > 0')" = true
  else
    tail -n 30 "$log_dir/bench-clientkill.log"
    not_ok "result.json of the client-kill run ($result)"
  fi
else
  tail -n 30 "$log_dir/up-faults.log"
  not_ok "make up MODE=$mode for the fault checks"
fi

# --- 5. the same bench natively: the Docker/native ratio (printed, not asserted)
mode=uws
step "make bench RUNTIME=native MODE=$mode (the Docker/native figure)"
if flock /tmp/wsbench-bench.lock make --no-print-directory bench RUNTIME=native MODE="$mode" RATE=max HTTP_LOAD=0 >"$log_dir/bench-native.log" 2>&1; then
  ok "make bench RUNTIME=native exits 0"
  line=$(grep '^{"event":"result"' "$log_dir/bench-native.log" | tail -n 1)
  native_result=$(node -e 'console.log(JSON.parse(process.argv[1]).result)' "$line" 2>/dev/null)
  [ -f "$native_result" ] && NATIVE=$(json_field "$native_result" 'Math.round(r.throughput.msgsPerSec)')
else
  tail -n 20 "$log_dir/bench-native.log"
  not_ok "make bench RUNTIME=native exits 0"
fi

# --- 6. down
step "make down"
check "make down exits 0" bash -c 'make --no-print-directory down >"$1" 2>&1' _ "$log_dir/down.log"
filter=(--filter "label=com.docker.compose.project=$WSBENCH_PROJECT")
check "no container of the stack is left" test -z "$(docker ps -aq "${filter[@]}")"
check "no network of the stack is left" test -z "$(docker network ls -q "${filter[@]}"; docker network ls -q --filter "name=^${WSBENCH_PROJECT}_")"
check "no volume of the stack is left" test -z "$(docker volume ls -q "${filter[@]}"; docker volume ls -q --filter "name=^${WSBENCH_PROJECT}_")"
check "make bench falls back to native once the stack is down" test "$(bash scripts/stack.sh runtime)" = native

# --- 7. the compose file with Grafana and every profile
step "compose config"
: >"$log_dir/empty.env"
for c in "docker compose" docker-compose; do
  $c version >/dev/null 2>&1 || continue
  check "$c config validates with Grafana and every profile" env WSBENCH_COMPOSE="$c" GRAFANA_ADMIN_PASSWORD=e2e \
    bash scripts/stack.sh compose --profile all --profile bench --profile grafana config -q
  check "$c config refuses to run Grafana without an admin password" \
    bash -c "! env -u GRAFANA_ADMIN_PASSWORD $c -p e2e-nopw --env-file '$log_dir/empty.env' -f docker-compose.yml --profile grafana config -q 2>/dev/null"
done

step "images"
docker images --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' | grep -E '^(wsbench|wsbench-local)/' | sed 's/^/#   /'
for mode in "${MODES_UNDER_TEST[@]}"; do
  echo "#   make bench in containers (host network, placement: $(bash scripts/stack.sh placement | sed -n 's/^PLACEMENT=//p')), MODE=$mode CLIENTS=$CLIENTS DURATION=$DURATION: ${MSGS[$mode]:-–} msg/s"
done
mode=uws
echo "#   native, same settings, MODE=$mode: ${NATIVE:-–} msg/s"
if [ -n "${NATIVE:-}" ] && [ -n "${MSGS[$mode]:-}" ] && [ "$NATIVE" -gt 0 ]; then
  echo "#   Docker/native ($mode, $CLIENTS clients, max rate, ${DURATION} s; one run each, not a check): $(node -e 'console.log((process.argv[1] / process.argv[2]).toFixed(2))' "${MSGS[$mode]}" "$NATIVE")"
fi
echo "1..$checks"
if [ "$failures" -gt 0 ]; then
  echo "# $failures of $checks checks failed ($(elapsed))"
  exit 1
fi
echo "# all $checks checks passed ($(elapsed))"
