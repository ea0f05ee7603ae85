#!/usr/bin/env bash
# Installs the MongoDB shell the move drill runs the rendered digest and verification scripts
# in (tests/test_move_drill.py): the npm package mongosh, pinned, into a cache outside the
# repository keyed by version (a warm cache costs nothing; about a minute cold). Prints the path.
set -euo pipefail
MONGOSH_VERSION=2.12.0
cache="${DATAPLANE_TOOLS_CACHE:-$HOME/.cache/dataplane/tools}"
dest="$cache/mongosh-$MONGOSH_VERSION"
if [ ! -x "$dest/node_modules/.bin/mongosh" ]; then
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  npm install --prefix "$dest.tmp" --no-audit --no-fund --silent "mongosh@$MONGOSH_VERSION" >&2
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
fi
echo "$dest/node_modules/.bin/mongosh"
