#!/usr/bin/env bash
# Installs nats-server from Debian when it is missing; the broker suites (test/broker/nats-*)
# start their own instances on free loopback ports with JetStream (test/helpers/nats.ts), so
# nothing is started here. (.ci/services.sh does the same install among others.)
set -euo pipefail

if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
  echo "installing nats-server"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
  # Debian may start the packaged service on 4222; the suites need none of it.
  if command -v systemctl >/dev/null 2>&1; then systemctl stop nats-server >/dev/null 2>&1 || true; fi
fi
nats_bin="$(command -v nats-server || echo /usr/sbin/nats-server)"
echo "nats-server: $("$nats_bin" --version)"
