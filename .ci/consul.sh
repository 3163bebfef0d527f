#!/usr/bin/env bash
# Builds the Consul binary the registry tests run, when it is missing (no package manager ships
# one). Consul is built from the Go module proxy as a dependency of a tiny wrapper module, since
# `go install` refuses it for the `replace` lines in its go.mod (shared/docs/real-services.md).
#   .ci/consul.sh               build now (no-op when the binary exists)
#   .ci/consul.sh --background  build in the background; log and pid next to the binary
#   .ci/consul.sh --wait        wait for a background build; fails (with its log) if it left no
#                               binary. .ci/run does, before the tests: no suite races a build
# Cold, the build takes 8–20 min on 2 cores; warm (module cache filled), about a minute.
set -euo pipefail
. "$(dirname "$0")/go-build.sh"

version="${CONSUL_VERSION:-1.20.5}"
cache="${TSMICRO_CACHE:-$HOME/.cache/tsmicro}"
log="$cache/consul.build.log"
pidfile="$cache/consul.build.pid"
mkdir -p "$cache"

# The versions real-services.md names, in order, each with the Go version its wrapper declares.
candidates=("$version:1.22" "1.20.2:1.22" "1.20.1:1.22")
found() {
  for candidate in "${candidates[@]}"; do
    bin="$cache/consul-${candidate%%:*}/consul"
    if [ -x "$bin" ]; then
      echo "consul: $bin"
      return 0
    fi
  done
  return 1
}
if found; then exit 0; fi

if [ "${1:-}" = "--background" ]; then background_build "consul $version" "$0" "$log" "$pidfile"; fi
if [ "${1:-}" = "--wait" ]; then
  wait_for_build "consul $version" "$0" "$pidfile" "$log"
  found || build_failed "consul $version" "$log"
  exit 0
fi

require_go "consul"
echo "building consul $version with $(go version) at $(date -u +%T)"

# One wrapper module per version; `replace` lines only apply in the main module, so building
# Consul as a dependency works where `go install` refuses.
build() {
  local v="$1" gover="$2" dir="$cache/consul-build-$1"
  bin="$cache/consul-$v/consul"
  mkdir -p "$dir" "$cache/consul-$v"
  cat >"$dir/go.mod" <<GOMOD
module tsmicro.local/consulbuild

go $gover

require github.com/hashicorp/consul v$v

exclude (
	github.com/hashicorp/go-msgpack v1.1.5
	github.com/hashicorp/go-msgpack v1.1.6
)
GOMOD
  (cd "$dir" && GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0 GONOSUMDB='github.com/hashicorp/*' \
    go build -trimpath -ldflags='-s -w' -o "$bin.tmp" github.com/hashicorp/consul)
}

ok=""
for candidate in "${candidates[@]}"; do
  v="${candidate%%:*}"
  if build "$v" "${candidate##*:}"; then ok="$v"; break; fi
  echo "consul v$v did not build; trying the next version" >&2
done
if [ -z "$ok" ]; then
  echo "consul build failed" >&2
  exit 1
fi
# Renamed into place only when complete, so a waiting test never runs a half-written binary.
mv "$bin.tmp" "$bin"
echo "consul v$ok built at $(date -u +%T): $bin"
