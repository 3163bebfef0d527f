#!/usr/bin/env bash
# Builds the go-micro peer the interoperability tests (test/gomicro/) run against: a small Go
# program of ours (test/gomicro/peer, go-micro.dev/v5 at an exact version), with the Go code of
# the .proto files in test/protos that protoc-gen-go and protoc-gen-micro generate (both built from
# the peer's go.mod, run by the npm `buf`, so `npm ci` comes first). The binary is cached outside
# the work tree under a name carrying the hash of its sources (Go files, buf.gen.yaml and the
# .proto), so an edit rebuilds it and an unchanged tree never does; nothing built or generated is
# committed.
#   .ci/gomicro.sh               build now (no-op when the binary exists); prints its path
#   .ci/gomicro.sh --background  build in the background; log and pid next to the binary
#   .ci/gomicro.sh --wait        wait for a background build; fails (with its log) if it left no
#                                binary. .ci/run does, before the tests: no suite races a build
#   .ci/gomicro.sh --path        print where the binary for the current sources goes, and exit
# Cold (empty Go module cache) the build downloads ~70 modules and takes a few minutes on 2 cores.
set -euo pipefail
. "$(dirname "$0")/go-build.sh"
cd "$(dirname "$0")/.."

src="test/gomicro/peer"
cache="${TSMICRO_CACHE:-$HOME/.cache/tsmicro}"
protos="test/protos"
# Same hash as test/helpers/gomicro.ts computes: sha256 over "<name>\n<content>" of go.mod,
# go.sum, buf.gen.yaml and the .go files, in name order, then of the .proto files, in name order.
hash=$( (cd "$src" && for f in $(ls go.mod go.sum buf.gen.yaml *.go | LC_ALL=C sort); do printf '%s\n' "$f"; cat "$f"; done
  cd "../../../$protos" && for f in $(ls *.proto | LC_ALL=C sort); do printf '%s\n' "$f"; cat "$f"; done) | sha256sum | cut -c1-16)
dir="$cache/gomicro-peer-$hash"
bin="$dir/peer"
log="$cache/gomicro.build.log"
pidfile="$cache/gomicro.build.pid"
mkdir -p "$cache"

cached_build_modes "go-micro peer" "$bin" "$0" "$log" "$pidfile" "${1:-}"

require_go "the go-micro peer"
buf="$PWD/node_modules/.bin/buf"
if [ ! -x "$buf" ]; then
  echo "no $buf: run npm ci before building the go-micro peer (it generates Go code with buf)" >&2
  exit 1
fi
echo "building the go-micro peer ($hash) with $(go version) at $(date -u +%T)"
# A fresh copy of the sources, so the generated code never lands in the work tree.
work="$dir/src"
rm -rf "$work"
mkdir -p "$work"
cp "$src"/go.mod "$src"/go.sum "$src"/buf.gen.yaml "$src"/*.go "$work/"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
# The generators at the versions the peer's go.mod pins (google.golang.org/protobuf, go-micro.dev/v5).
(cd "$work" && go build -trimpath -o "$dir/tools/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go &&
  go build -trimpath -o "$dir/tools/protoc-gen-micro" go-micro.dev/v5/cmd/protoc-gen-micro)
root="$PWD"
# One file at a time, each into its own Go package: protoc-gen-micro refuses files of different
# Go packages in one run.
for p in "$root/$protos"/*.proto; do
  (cd "$work" && PATH="$dir/tools:$PATH" "$buf" generate --template buf.gen.yaml "$root/$protos" --path "$p" --output "gen/$(basename "$p" .proto)")
done
echo "generated: $(cd "$work" && ls gen/*/*.go | tr '\n' ' ')"
(cd "$work" && go build -trimpath -o "$bin.tmp" .)
# Renamed into place only when complete, so a waiting test never runs a half-written binary.
mv "$bin.tmp" "$bin"
echo "gomicro peer built at $(date -u +%T): $bin"
