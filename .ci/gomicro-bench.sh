#!/usr/bin/env bash
# Builds go-micro's side of the benchmark (bench/gomicro: a go-micro v5 gRPC server and a
# closed-loop go-micro client, target `go-micro` of `npm run bench`) from the Go module proxy, at
# the versions its go.mod pins (the go-micro peer's, test/gomicro/peer). The binary is cached
# outside the work tree under a name carrying the hash of its sources, so an edit rebuilds it and
# an unchanged tree never does; nothing built is committed.
#   .ci/gomicro-bench.sh         build now (no-op when the binary exists); prints its path last
#   .ci/gomicro-bench.sh --path  print where the binary for the current sources goes, and exit
# Cold (empty Go module cache) the build downloads ~70 modules; with the peer built already it
# takes seconds.
set -euo pipefail
. "$(dirname "$0")/go-build.sh"
cd "$(dirname "$0")/.."

src="bench/gomicro"
cache="${TSMICRO_CACHE:-$HOME/.cache/tsmicro}"
hash=$( (cd "$src" && for f in $(ls go.mod go.sum *.go | LC_ALL=C sort); do printf '%s\n' "$f"; cat "$f"; done) | sha256sum | cut -c1-16)
dir="$cache/gomicro-bench-$hash"
bin="$dir/gomicrobench"

if [ "${1:-}" = "--path" ]; then echo "$bin"; exit 0; fi
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
require_go "go-micro's benchmark (bench/gomicro)"
echo "building go-micro's benchmark ($hash) with $(go version)" >&2
# A copy of the sources, so go.mod and go.sum in the work tree are never rewritten.
work="$dir/src"
rm -rf "$work"
mkdir -p "$work"
cp "$src"/go.mod "$src"/go.sum "$src"/*.go "$work/"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
(cd "$work" && go build -trimpath -o "$bin.tmp" .) >&2
mv "$bin.tmp" "$bin"
echo "$bin"
