#!/usr/bin/env bash
# Installs the servers the test suites run against, from Debian: etcd (registry) and NATS
# (broker), and valgrind, which the instruction-count benchmark runs under. The suites start
# their own instances on free loopback ports; a NATS is also started on 127.0.0.1:4222 for
# suites that look for a shared one. Consul is built by .ci/consul.sh.
set -euo pipefail

missing=()
command -v etcd >/dev/null 2>&1 || [ -x /usr/bin/etcd ] || missing+=(etcd-server)
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
# valgrind's callgrind counts instructions for bench:instructions (its smoke test runs in CI).
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  # Debian starts the packaged services on their default ports; the tests need none of them.
  for svc in etcd nats-server; do
    if command -v systemctl >/dev/null 2>&1; then systemctl stop "$svc" >/dev/null 2>&1 || true; fi
  done
fi
echo "etcd: $(etcd --version 2>/dev/null | head -1)"

nats_bin="$(command -v nats-server || echo /usr/sbin/nats-server)"
echo "nats-server: $("$nats_bin" --version)"
if ! (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; then
  nats_dir="$(mktemp -d)"
  nohup "$nats_bin" -a 127.0.0.1 -p 4222 -js -sd "$nats_dir" >"$nats_dir/nats.log" 2>&1 </dev/null &
  for _ in $(seq 1 50); do
    (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null && break
    sleep 0.1
  done
  echo "nats-server started on 127.0.0.1:4222 (log: $nats_dir/nats.log)"
fi
