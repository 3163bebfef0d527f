// Keeps the benchmark harness from rotting: a tiny run of every target (but NATS, which needs a
// server, and go-micro, which needs a Go build), of the paired gRPC latency measurement, of the
// in-process measurements, of the streams (one small point per target, and the slow reader) and
// of the HTTP gateways (one small point each), checked for shape, never for speed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir } from '../helpers/tmp.js';

const runner = fileURLToPath(new URL('../../bench/run.js', import.meta.url));

interface Results {
  points: {
    target: string;
    concurrency: number;
    calls: number;
    errors: number;
    perSec: number;
    p50us: number;
    skipped?: string;
  }[];
  paired: Record<string, { calls: number; errors: number; p50us: number }>;
  micro: {
    selector: { pickPerSec: number };
    watch: { updateMs: number };
    idleConnectionBytes: { native: number; grpc: number };
    firstCallMs: { native: number; grpc: number };
  };
  streams: {
    points: { target: string; mode: string; messages?: number; perSec?: number; error?: string }[];
    slow: { target: string; serverGrowthBytes?: number; error?: string }[];
  };
  gateway: {
    points: {
      target: string;
      perSec?: number;
      requests?: number;
      errors?: number;
      non2xx?: number;
      error?: string;
    }[];
  };
}

test('bench: a tiny run measures every target and writes the results JSON', async () => {
  await using dir = await makeTempDir('bench');
  const targets = [
    'tcp-floor',
    'tsmicro-native',
    'tsmicro-grpc',
    'tsmicro-grpc-explicit',
    'raw-grpc-js',
    'raw-grpc-js-gomicro',
    'moleculer-tcp',
  ];
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      [runner],
      {
        env: {
          ...process.env,
          BENCH_SECONDS: '0.2',
          BENCH_WARMUP_SECONDS: '0.1',
          BENCH_CONCURRENCY: '1',
          BENCH_TARGETS: targets.join(','),
          BENCH_MICRO_SECONDS: '0.05',
          BENCH_IDLE_CONNECTIONS: '10',
          BENCH_STREAM_SECONDS: '0.1',
          BENCH_STREAM_WARMUP_SECONDS: '0.05',
          BENCH_STREAM_SIZES: '100',
          BENCH_STREAM_CONCURRENCY: '1',
          BENCH_STREAM_MODES: 'echo,pour',
          BENCH_STREAM_SLOW_READS: '5',
          BENCH_GATEWAY_SECONDS: '1',
          BENCH_GATEWAY_WARMUP_SECONDS: '0',
          BENCH_GATEWAY_CONCURRENCY: '4',
          BENCH_GATEWAY_ROUNDS: '1',
          BENCH_RESULTS_DIR: dir.path,
        },
        // Generous: the run starts some thirty processes one after another on a shared machine.
        timeout: 240_000,
      },
      (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)),
    );
  });
  assert.match(stdout, /\| target \| in flight \| calls\/s \| p50 µs/);
  const files = readdirSync(dir.path).filter((f) => f.endsWith('.json'));
  assert.equal(files.length, 1);
  const results = JSON.parse(readFileSync(path.join(dir.path, files[0]), 'utf8')) as Results;
  assert.deepEqual(
    results.points.map((p) => p.target),
    targets,
  );
  for (const p of results.points) {
    assert.equal(p.skipped, undefined, `${p.target}: ${p.skipped}`);
    assert.equal(p.errors, 0, p.target);
    assert.ok(p.calls > 0 && p.perSec > 0 && p.p50us > 0, JSON.stringify(p));
  }
  assert.deepEqual(Object.keys(results.paired).sort(), [
    'raw-grpc-js',
    'raw-grpc-js-gomicro',
    'tsmicro-grpc',
    'tsmicro-grpc-explicit',
  ]);
  for (const [name, r] of Object.entries(results.paired))
    assert.ok(r.calls > 0 && r.errors === 0 && r.p50us > 0, `${name}: ${JSON.stringify(r)}`);
  assert.ok(results.micro.selector.pickPerSec > 0);
  assert.ok(results.micro.watch.updateMs > 0);
  assert.ok(
    results.micro.idleConnectionBytes.native > 0 && results.micro.idleConnectionBytes.grpc > 0,
  );
  assert.ok(results.micro.firstCallMs.native > 0 && results.micro.firstCallMs.grpc > 0);
  assert.match(stdout, /\| mode \| size \| streams \| tcp-stream \| tsmicro-native \|/);
  // Every target at every point, once (the points take the targets in turn, so in any order).
  assert.deepEqual(
    results.streams.points.map((p) => `${p.target} ${p.mode}`).sort(),
    ['tcp-stream', 'tsmicro-native', 'tsmicro-grpc', 'raw-grpc-js']
      .flatMap((t) => [`${t} echo`, `${t} pour`])
      .sort(),
  );
  for (const p of results.streams.points)
    assert.ok(p.error === undefined && p.messages! > 0 && p.perSec! > 0, JSON.stringify(p));
  assert.equal(results.streams.slow.length, 4);
  for (const s of results.streams.slow)
    assert.ok(s.error === undefined && Number.isFinite(s.serverGrowthBytes), JSON.stringify(s));
  assert.match(stdout, /\| target \| connections \| req\/s \| p50 ms \|/);
  assert.deepEqual(
    results.gateway.points.map((p) => p.target),
    ['tsmicro-gateway', 'moleculer-web', 'fastify-floor'],
  );
  for (const p of results.gateway.points)
    assert.ok(
      p.error === undefined && p.requests! > 0 && p.errors === 0 && p.non2xx === 0,
      JSON.stringify(p),
    );
});
