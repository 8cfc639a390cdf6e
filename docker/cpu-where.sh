#!/usr/bin/env bash
# Where the CPU time goes on this machine over a window, from /proc only (no perf needed):
#   docker/cpu-where.sh SECONDS [TOP]
# Prints per CPU and in total the cores spent in user, system, irq and softirq (and idle), then
# the TOP (default 8) processes by CPU with their user/system split, name and cgroup (which
# container). Run it beside a benchmark, e.g. started 2 s into the measured window.
set -euo pipefail
secs=${1:?usage: docker/cpu-where.sh SECONDS [TOP]}
top=${2:-8}
[[ "$secs" =~ ^[0-9]+(\.[0-9]+)?$ ]] || {
  echo "cpu-where: invalid SECONDS \"$secs\": expected a number" >&2
  exit 2
}
hz=$(getconf CLK_TCK)

procs() { # pid utime stime comm, for every process (threads are summed by the kernel)
  local f
  for f in /proc/[0-9]*/stat; do
    # comm may hold spaces: take the fields after the last ')'.
    { read -r line <"$f"; } 2>/dev/null || continue
    local pid=${f#/proc/}
    pid=${pid%/stat}
    local rest=${line##*) }
    local comm=${line#*(}
    comm=${comm%)*}
    # shellcheck disable=SC2086
    set -- $rest
    echo "$pid ${12} ${13} ${comm// /_}"
  done
}

a_stat=$(grep '^cpu' /proc/stat)
a_procs=$(procs)
a_soft=$(awk '/NET_RX|NET_TX/ { s = 0; for (i = 2; i <= NF; i++) s += $i; printf "%s %d\n", $1, s }' /proc/softirqs)
sleep "$secs"
b_stat=$(grep '^cpu' /proc/stat)
b_procs=$(procs)
b_soft=$(awk '/NET_RX|NET_TX/ { s = 0; for (i = 2; i <= NF; i++) s += $i; printf "%s %d\n", $1, s }' /proc/softirqs)

echo "# CPU over ${secs}s, in cores (1.00 = one core busy the whole window)"
paste <(echo "$a_stat") <(echo "$b_stat") | awk -v hz="$hz" -v s="$secs" '
  BEGIN { printf "%-5s %6s %6s %6s %6s %6s %6s %6s\n", "cpu", "user", "nice", "system", "irq", "softirq", "steal", "idle" }
  { n = NF / 2
    # fields: name user nice system idle iowait irq softirq steal ...
    u = ($(n + 2) - $2) / hz / s; ni = ($(n + 3) - $3) / hz / s; sy = ($(n + 4) - $4) / hz / s
    id = ($(n + 5) - $5 + $(n + 6) - $6) / hz / s; irq = ($(n + 7) - $7) / hz / s
    si = ($(n + 8) - $8) / hz / s; st = ($(n + 9) - $9) / hz / s
    printf "%-5s %6.2f %6.2f %6.2f %6.2f %6.2f %6.2f %6.2f\n", $1, u, ni, sy, irq, si, st, id }'
paste <(echo "$a_soft") <(echo "$b_soft") | awk -v s="$secs" '{ printf "# %s softirqs/s: %.0f\n", $1, ($4 - $2) / s }'

echo "# top $top processes by CPU (cores): user system name cgroup"
join <(echo "$a_procs" | sort -k1,1) <(echo "$b_procs" | sort -k1,1) | awk -v hz="$hz" -v s="$secs" '
  { u = ($5 - $2) / hz / s; sy = ($6 - $3) / hz / s; if (u + sy > 0.005) printf "%d %.3f %.3f %s\n", $1, u, sy, $4 }' |
  sort -k2,2gr -k3,3gr | awk '{ print $0, $2 + $3 }' | sort -k5,5gr | head -n "$top" |
  while read -r pid u sy name total; do
    cg=$(awk -F: '$2 ~ /cpu/ || $2 == "" { print $3; exit }' "/proc/$pid/cgroup" 2>/dev/null || echo '?')
    case "$cg" in /docker/*) cg="container ${cg#/docker/}" && cg=${cg:0:22} ;; esac
    printf "%7s %6.2f %6.2f %6.2f  %-16s %s\n" "$pid" "$total" "$u" "$sy" "$name" "${cg:-/}"
  done
