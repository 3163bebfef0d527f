// The embedded HTTP broker across two processes (`node .build/bench/broker-http.js` after
// `npm run build:test`): a subscriber process (this file with `sub`) and this publisher, on a
// local registry in a temporary directory. Measures the publish round trip (resolved = the
// subscriber's handler ran) one at a time, then events/s with 16 publishes in flight. Bounded in
// count and time; prints one JSON line. Environment: BENCH_BROKER_EVENTS (default 5000).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpBroker } from '../src/broker/http/http.js';
import { localRegistry } from '../src/registry/local.js';
import { startChild } from './child.js';

const body = new TextEncoder().encode(JSON.stringify({ id: 1, text: 'x'.repeat(100) }));
const header = { 'Content-Type': 'application/json' };

if (process.argv[2] === 'sub') {
  const broker = httpBroker({ registry: localRegistry() });
  let n = 0;
  await broker.subscribe('bench.events', async () => void n++, { queue: 'bench' });
  console.log('ready');
  process.on('SIGTERM', () => void broker.disconnect().then(() => process.exit(0)));
} else {
  const events = Number(process.env.BENCH_BROKER_EVENTS ?? '5000');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-broker-'));
  const env = { ...process.env, TSMICRO_REGISTRY_DIR: dir, TSMICRO_LOG_LEVEL: 'warn' };
  const child = startChild(process.execPath, [fileURLToPath(import.meta.url), 'sub'], {
    env,
    timeoutMs: 30_000,
  });
  await child.line(/^ready/);
  const registry = localRegistry({ dir });
  const broker = httpBroker({ registry });
  const publish = (): Promise<void> => broker.publish('bench.events', { header, body });
  for (let i = 0; i < 500; i++) await publish(); // warm-up: sockets, JIT
  const lat: number[] = [];
  for (let i = 0; i < events; i++) {
    const t0 = performance.now();
    await publish();
    lat.push(performance.now() - t0);
  }
  lat.sort((a, b) => a - b);
  const q = (p: number): number => Math.round(lat[Math.floor(p * (lat.length - 1))] * 1000);
  let sent = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (sent < events) {
        sent++;
        await publish();
      }
    }),
  );
  const perSec = Math.round(events / ((performance.now() - t0) / 1000));
  console.log(
    JSON.stringify({
      events,
      roundTripUs: { p50: q(0.5), p99: q(0.99) },
      eventsPerSecAt16: perSec,
    }),
  );
  await broker.disconnect();
  await registry.close();
  child.proc.kill('SIGTERM');
  await child.exited;
  rmSync(dir, { recursive: true, force: true });
}
