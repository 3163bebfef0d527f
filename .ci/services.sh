#!/usr/bin/env bash
# Installs the servers the test suites run against, from Debian: etcd (registry), NATS
# (broker) and Redis (the global rate limit's store); valgrind, which the instruction-count
# benchmark runs under; and Chromium, the gateway's browser test's browser. The suites start
# their own instances on free loopback ports; a NATS is also started on 127.0.0.1:4222 (and on
# each port in NATS_PORTS) for suites that look for a shared one. Consul is built by
# .ci/consul.sh.
set -euo pipefail

missing=()
command -v etcd >/dev/null 2>&1 || [ -x /usr/bin/etcd ] || missing+=(etcd-server)
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
# The global rate limit's tests start their own redis-server on a free port.
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
# valgrind's callgrind counts instructions for bench:instructions (its smoke test runs in CI).
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
# The gateway's browser test drives Debian's headless Chromium (playwright-core, no browser download).
[ -x /usr/bin/chromium ] || missing+=(chromium)
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
# One shared NATS per port in NATS_PORTS (default 4222): .ci/run gives each Node line it runs
# side by side a shared NATS of its own, so no suite sees another's subjects or streams.
for port in ${NATS_PORTS:-4222}; do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    nats_dir="$(mktemp -d)"
    nohup "$nats_bin" -a 127.0.0.1 -p "$port" -js -sd "$nats_dir" >"$nats_dir/nats.log" 2>&1 </dev/null &
    for _ in $(seq 1 50); do
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
      sleep 0.1
    done
    echo "nats-server started on 127.0.0.1:$port (log: $nats_dir/nats.log)"
  fi
done
