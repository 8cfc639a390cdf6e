#!/usr/bin/env bash
# Builds local stand-ins for the base images the stack pulls (node:20-bookworm-slim,
# prom/prometheus) on a machine that reaches no image registry: a Debian bookworm rootfs made by
# debootstrap from the mirror apt already uses, plus this machine's Node 20 + npm + CA bundle, or
# plus Debian's prometheus binary. Tagged under wsbench-local/* (never an official image's name)
# and cached: a tag that exists is not rebuilt unless FORCE=1.
#
#   docker/build-standins.sh            # prints the two tags as NODE_IMAGE=... PROMETHEUS_IMAGE=...
#   FORCE=1 docker/build-standins.sh    # rebuild
set -euo pipefail

NODE_STANDIN=${NODE_STANDIN:-wsbench-local/node:20-bookworm}
PROM_STANDIN=${PROM_STANDIN:-wsbench-local/prometheus:2.42}
SUITE=bookworm
CA_BUNDLE=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
FORCE=${FORCE:-0}

log() { echo "build-standins: $*" >&2; }
die() { log "$*"; exit 1; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

if [ "$FORCE" != 1 ] && have_image "$NODE_STANDIN" && have_image "$PROM_STANDIN"; then
  log "cached: $NODE_STANDIN and $PROM_STANDIN exist (FORCE=1 rebuilds)"
  echo "NODE_IMAGE=$NODE_STANDIN PROMETHEUS_IMAGE=$PROM_STANDIN"
  exit 0
fi

for tool in debootstrap docker tar node npm prometheus promtool; do
  command -v "$tool" >/dev/null || die "missing '$tool' (install it with: make deps)"
done
node_bin=$(readlink -f "$(command -v node)")
node_version=$("$node_bin" -v)
# uWebSockets.js 20.30 ships binaries for Node 20 (ABI 115) only.
case "$node_version" in v20.*) ;; *) die "this machine's node is $node_version; the stand-in needs Node 20" ;; esac
npm_dir="$(npm root -g)/npm"
[ -f "$npm_dir/bin/npm-cli.js" ] || die "npm not found at $npm_dir"
[ -f "$CA_BUNDLE" ] || die "CA bundle \"$CA_BUNDLE\" (NODE_EXTRA_CA_CERTS) does not exist"

# The mirror apt uses for the main Debian archive: deb822 .sources files first, then one-line lists.
mirror_from_apt() {
  local f
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list; do
    [ -f "$f" ] || continue
    case "$f" in
      *.sources)
        awk -v suite="$SUITE" '
          /^[[:space:]]*$/ { if (uri != "" && suites ~ ("(^| )" suite "( |$)")) { print uri; exit } uri=""; suites=""; next }
          tolower($1) == "uris:" { uri = $2 }
          tolower($1) == "suites:" { $1 = ""; suites = $0; sub(/^ +/, "", suites) }
          END { if (uri != "" && suites ~ ("(^| )" suite "( |$)")) print uri }
        ' "$f"
        ;;
      *)
        awk -v suite="$SUITE" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i + 1) == suite) { print $i; exit } }' "$f"
        ;;
    esac
  done | grep -v -- '-security' | head -n 1
}
MIRROR=${DEBIAN_MIRROR:-$(mirror_from_apt)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

work=$(mktemp -d /var/tmp/wsbench-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"

log "debootstrap --variant=minbase $SUITE from $MIRROR (about a minute)"
# wget: the Prometheus healthcheck uses it, as it does in the official (busybox) image.
debootstrap --variant=minbase --include=wget "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 ||
  { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
# Trim what no container here reads.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
mkdir -p "$root/$(dirname "$CA_BUNDLE")"
cp "$CA_BUNDLE" "$root/$CA_BUNDLE"

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

# Node stand-in: this machine's node binary and npm, laid out like the official node image.
mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules"
cp "$node_bin" "$root/usr/local/bin/node"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
# A user "node" (uid 1000) as in the official image, so Dockerfiles can say USER node.
chroot "$root" sh -c 'groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/sh node'
chroot "$root" /usr/local/bin/node -e 'process.exit(0)' || die "node does not run in the rootfs"
import "$NODE_STANDIN" \
  'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  "ENV NODE_EXTRA_CA_CERTS=$CA_BUNDLE" 'CMD ["node"]'

echo "NODE_IMAGE=$NODE_STANDIN PROMETHEUS_IMAGE=$PROM_STANDIN"
