#!/usr/bin/env bash
# Builds go-micro's CLI, `micro` (go-micro.dev/v5/cmd/micro at the version the go-micro peer pins),
# from the Go module proxy into $TSMICRO_CACHE/micro-<version>/micro, for the tests that run
# `micro services` / `micro describe` against tsmicro services (go-micro's default registry,
# mDNS). Cached: a second run finds the binary and does nothing; nothing is committed.
#   .ci/micro.sh               build now (no-op when the binary exists); prints its path
#   .ci/micro.sh --background  build in the background; log and pid next to the binary
#   .ci/micro.sh --wait        wait for a background build; fails (with its log) if it left no binary
#   .ci/micro.sh --path        print where the binary goes, and exit
set -euo pipefail
. "$(dirname "$0")/go-build.sh"
cd "$(dirname "$0")/.."

# The go-micro version of the peer's go.mod: the CLI and the peer speak the same registry.
version=$(awk '$1 == "go-micro.dev/v5" { print $2 }' test/gomicro/peer/go.mod)
cache="${TSMICRO_CACHE:-$HOME/.cache/tsmicro}"
dir="$cache/micro-$version"
bin="$dir/micro"
log="$cache/micro.build.log"
pidfile="$cache/micro.build.pid"
mkdir -p "$cache"

cached_build_modes "micro CLI" "$bin" "$0" "$log" "$pidfile" "${1:-}"

require_go "go-micro's micro CLI"
echo "building micro $version with $(go version) at $(date -u +%T)"
export GOTOOLCHAIN=local CGO_ENABLED=0
# Built inside a copy of the peer's module (`go install pkg@version` asks the proxy for the
# version list, which it may refuse), where -mod=mod adds what the CLI's packages need beyond the
# peer's, at the versions go-micro's own go.mod names.
work="$dir/src"
rm -rf "$work"
mkdir -p "$work"
cp test/gomicro/peer/go.mod test/gomicro/peer/go.sum "$work/"
(cd "$work" && GOFLAGS=-mod=mod go build -trimpath -o "$bin.tmp" go-micro.dev/v5/cmd/micro)
# Renamed into place only when complete, so a waiting test never runs a half-written binary.
mv "$bin.tmp" "$bin"
echo "micro built at $(date -u +%T): $bin"
