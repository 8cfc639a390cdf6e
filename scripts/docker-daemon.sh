#!/usr/bin/env bash
# The Docker engine for the stack:
#   scripts/docker-daemon.sh ensure   # install docker.io + docker-compose if missing, start dockerd
#                                     # if it does not answer; prints "started" or "running"
#   scripts/docker-daemon.sh stop     # stops a dockerd that `ensure` started (not a systemd one)
# On machines without systemd (containers, CI runners) dockerd runs in the background, logging to
# $DOCKERD_LOG (default /var/log/wsbench-dockerd.log).
set -euo pipefail

LOG=${DOCKERD_LOG:-/var/log/wsbench-dockerd.log}
MARK=/run/wsbench-dockerd.started
log() { echo "docker-daemon: $*" >&2; }
die() { log "$*"; exit 1; }
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

answers() { timeout 10 docker info >/dev/null 2>&1; }

install_missing() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

ensure() {
  install_missing
  if answers; then
    echo running
    return 0
  fi
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    log "starting docker with systemctl"
    $SUDO systemctl start docker
  else
    log "starting dockerd in the background (log: $LOG)"
    $SUDO sh -c "setsid dockerd >>'$LOG' 2>&1 </dev/null & echo \$! >'$MARK'"
  fi
  local i
  for i in $(seq 1 60); do
    if answers; then
      log "dockerd answers after ${i}s"
      echo started
      return 0
    fi
    sleep 1
  done
  tail -n 20 "$LOG" >&2 2>/dev/null || true
  die "dockerd did not answer within 60 s"
}

stop() {
  [ -f "$MARK" ] || { log "dockerd was not started by this script: left running"; return 0; }
  local pid
  pid=$(cat "$MARK")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping dockerd (pid $pid)"
    $SUDO kill -TERM "$pid"
    local i
    for i in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  fi
  $SUDO rm -f "$MARK"
}

case "${1:-}" in
  ensure) ensure ;;
  stop) stop ;;
  *) log "unknown command \"${1:-}\": expected ensure or stop"; exit 2 ;;
esac
