#!/bin/sh
# Keeps only the uWebSockets.js package and native binary that server/uws-loader.ts picks on this
# image's Node and glibc (the packages ship binaries for every platform and ABI, ~40-90 MB each),
# and proves it loads: the build fails when no native binary loads.
# Run in the image's deps stage with the compiled loader at dist/server/uws-loader.js.
set -eu
choice=$(node dist/server/uws-loader.js) || exit 1
dir=$(node -p 'JSON.parse(process.argv[1]).uws.dir' "$choice")
keep=$(node -p 'JSON.parse(process.argv[1]).uws.binary' "$choice")
for other in node_modules/uWebSockets.js node_modules/@btc-vision/uwebsockets.js; do
  [ -d "$other" ] || continue
  [ "$(readlink -f "$other")" = "$(readlink -f "$dir")" ] && continue
  rm -rf "$other"
done
find "$dir" -name 'uws_*.node' ! -name "$keep" -delete
rm -rf "$dir/docs" "$dir/examples"
# Loads again after the pruning, now as the only candidate.
node dist/server/uws-loader.js >/dev/null
echo "prune-uws: $choice"
