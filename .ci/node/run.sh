#!/usr/bin/env bash
# usage: run.sh PORT [N]: the node-redis processor against redis://127.0.0.1:PORT
# (npm ci into a directory of its own on first use; node_modules stay out of the repo)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
port=${1:?usage: run.sh PORT [N]}
work="${TMPDIR:-/tmp}/claimsctl-node-processor-$(id -u)"
if [ ! -d "$work/node_modules/redis" ]; then
  mkdir -p "$work"
  cp "$here/package.json" "$here/package-lock.json" "$work/"
  (cd "$work" && npm ci --no-audit --no-fund >/dev/null)
fi
cp "$here/processor.mjs" "$work/processor.mjs"
cd "$work"
node processor.mjs "redis://127.0.0.1:$port" "${2:-20000}"
