#!/bin/sh
# Keeps only the uWebSockets.js native binary this image's Node loads (the package ships 18, ~90 MB)
# and proves it loads: the alias package silently falls back to a JS shim when it does not.
set -eu
dir=node_modules/uWebSockets.js
[ -d "$dir/binaries" ] || exit 0
keep=$(node -p '`uws_${process.platform}_${process.arch}_${process.versions.modules}.node`')
find "$dir/binaries" -name 'uws_*.node' ! -name "$keep" -delete
rm -rf "$dir/docs"
node -e "const u = require('uWebSockets.js'); if (typeof u.getParts !== 'function') { console.error('uWebSockets.js native binary $keep did not load'); process.exit(1); }"
echo "prune-uws: kept $dir/binaries/$keep"
