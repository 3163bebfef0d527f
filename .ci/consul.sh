#!/usr/bin/env bash
# Builds the Consul binary the registry tests run, when it is missing (no package manager ships
# one). Consul is built from the Go module proxy as a dependency of a tiny wrapper module, since
# `go install` refuses it for the `replace` lines in its go.mod (shared/docs/real-services.md).
#   .ci/consul.sh               build now (no-op when the binary exists)
#   .ci/consul.sh --background  build in the background; log and pid next to the binary, which
#                               test/helpers/servers.ts waits for (bounded)
# Cold, the build takes 8–20 min on 2 cores; warm (module cache filled), about a minute.
set -euo pipefail

version="${CONSUL_VERSION:-1.20.5}"
cache="${TSMICRO_CACHE:-$HOME/.cache/tsmicro}"
log="$cache/consul.build.log"
pidfile="$cache/consul.build.pid"
mkdir -p "$cache"

# The versions real-services.md names, in order, each with the Go version its wrapper declares.
candidates=("$version:1.22" "1.20.2:1.22" "1.20.1:1.22")
for candidate in "${candidates[@]}"; do
  bin="$cache/consul-${candidate%%:*}/consul"
  if [ -x "$bin" ]; then
    echo "consul: $bin"
    exit 0
  fi
done

if [ "${1:-}" = "--background" ]; then
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "consul build already running (pid $(cat "$pidfile")), log: $log"
    exit 0
  fi
  nohup bash "$0" >"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  echo "consul $version building in the background (pid $!), log: $log"
  exit 0
fi

command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
if ! command -v go >/dev/null 2>&1; then
  echo "no Go toolchain: cannot build consul" >&2
  exit 1
fi
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
