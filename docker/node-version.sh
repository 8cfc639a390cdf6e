# The pinned Node versions of the images, sourced by docker/build-standins.sh and scripts/stack.sh.
# NODE_VERSION may be a major (24) or a full version (24.22.3); a major means the pinned one here.
# The official base for a version is node:<full>-trixie-slim (Debian 13, glibc 2.41: the
# uWebSockets.js 20.57 binaries need glibc >= 2.38).

# major -> pinned full version. The first line is the default.
NODE_PINNED='24 24.22.3
20 20.20.2
22 22.23.5'

node_default_major() { echo "${NODE_PINNED%% *}"; }

# node_full_version 24 -> 24.22.3; a full version passes through; anything else: message, status 2.
node_full_version() {
  local v=${1#v} full
  if [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    echo "$v"
    return 0
  fi
  if [[ "$v" =~ ^[0-9]+$ ]]; then
    full=$(awk -v m="$v" '$1 == m { print $2 }' <<<"$NODE_PINNED")
    if [ -n "$full" ]; then
      echo "$full"
      return 0
    fi
  fi
  echo "invalid NODE_VERSION \"$1\": expected one of $(awk '{ printf "%s%s", sep, $1; sep = ", " }' <<<"$NODE_PINNED") or a full version like 24.22.3" >&2
  return 2
}

# The official image for a version (the default NODE_IMAGE).
node_official_image() { echo "node:$(node_full_version "$1")-trixie-slim"; }
