import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { TestContext } from 'node:test';
import {
  createService,
  grpcTransport,
  localRegistry,
  registrySelector,
  type Service,
} from '../../src/index.js';
import { consulRegistry } from '../../src/registry/consul/consul.js';
import { natsBroker } from '../../src/broker/nats/nats.js';
import { quietLogger } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';
import { startConsul } from '../helpers/servers.js';
import { startNatsServer } from '../helpers/nats.js';
import {
  SCALE,
  Tally,
  describeReport,
  eventually,
  mixedLoad,
  report,
  sleep,
  startNode,
  type Node,
  type Report,
} from './harness.js';

/**
 * The chaos scenarios of issue 9, each: steady mixed load from a client in the test process
 * against chaos-node processes, one fault in the middle, the numbers reported, the targets
 * asserted. `SCALE` stretches the load (the long suite); the short versions run in `npm test`.
 */

const BASE_LOAD_MS = 5_000;

function note(t: TestContext, reports: Report[]): void {
  for (const r of reports) t.diagnostic(describeReport(r));
}

/** At least `pct` % of `r`'s ops succeeded. */
function atLeast(r: Report | undefined, pct: number, what: string): void {
  assert.ok(r, `no ${what} ops ran`);
  assert.ok(
    r.successPct >= pct,
    `${what}: ${r.successPct} % < ${pct} % (${JSON.stringify(r.codes)})`,
  );
}

/** A client service on a local registry directory. */
function localClient(dir: string): { service: Service; close(): Promise<void> } {
  const registry = localRegistry({ dir });
  const service = createService({ name: 'chaos-client', registry, logger: quietLogger() });
  return {
    service,
    close: async () => {
      await service.stop();
      await registry.close();
    },
  };
}

/** Calls until each of `nodes` has answered (bounded), so the load starts on warm channels. */
async function warm(client: Service, nodes: readonly Node[]): Promise<void> {
  const seen = new Set<number>();
  const pids = new Set(nodes.map((n) => n.fixture.pid));
  await eventually(
    async () => {
      const rsp = await client.client
        .call<{ pid: number }>('chaos', 'Echo.Call', {}, { idempotent: true })
        .catch(() => undefined);
      if (rsp) seen.add(rsp.pid);
      return [...pids].every((p) => seen.has(p));
    },
    20_000,
    'every node to answer',
  );
}

/** SIGKILL one of three nodes mid-load: idempotent calls ≥ 99.9 %. */

/** Churn cycles (a node joins, one leaves) a churn run makes at the least: samples enough for a trend. */
const MIN_CHURN_CYCLES = 9;
export async function sigkill(t: TestContext): Promise<Report[]> {
  await using dir = await makeTempDir('chaos-kill-');
  const env = { TSMICRO_REGISTRY_DIR: dir.path };
  const nodes = await Promise.all([0, 1, 2].map(() => startNode('1.0.0', env)));
  t.after(() => Promise.all(nodes.map((n) => n.fixture.kill('SIGKILL'))));
  const client = localClient(dir.path);
  t.after(() => client.close());
  await warm(client.service, nodes);
  const loadMs = BASE_LOAD_MS * SCALE;
  let faultAt = 0;
  const fault = (async () => {
    await sleep(loadMs / 3);
    faultAt = Date.now();
    nodes[1].fixture.child.kill('SIGKILL');
  })();
  const ops = await mixedLoad(client.service, {
    durationMs: loadMs,
    maxOps: 100_000 * SCALE,
    concurrency: 8,
    streamEvery: 10,
    publishEvery: 0,
    idempotent: true,
    attemptTimeoutMs: 1_000,
    timeoutMs: 5_000,
  });
  await fault;
  const reports = report('sigkill', ops, faultAt, faultAt);
  note(t, reports);
  atLeast(
    reports.find((r) => r.kind === 'call'),
    99.9,
    'idempotent calls',
  );
  return reports;
}

/** SIGSTOP one of three nodes (it hangs) for a while, then SIGCONT: idempotent calls ≥ 99.9 %. */
export async function sigstop(t: TestContext): Promise<Report[]> {
  await using dir = await makeTempDir('chaos-stop-');
  const env = { TSMICRO_REGISTRY_DIR: dir.path };
  const nodes = await Promise.all([0, 1, 2].map(() => startNode('1.0.0', env)));
  t.after(async () => {
    nodes[1].fixture.child.kill('SIGCONT');
    await Promise.all(nodes.map((n) => n.fixture.kill('SIGKILL')));
  });
  const client = localClient(dir.path);
  t.after(() => client.close());
  await warm(client.service, nodes);
  const loadMs = BASE_LOAD_MS * SCALE;
  let faultAt = 0;
  let faultEnd = 0;
  const fault = (async () => {
    await sleep(loadMs / 4);
    faultAt = Date.now();
    nodes[1].fixture.child.kill('SIGSTOP');
    await sleep(loadMs / 3);
    faultEnd = Date.now();
    nodes[1].fixture.child.kill('SIGCONT');
  })();
  // A hung node answers nothing: the per-attempt limit turns that into a timeout fault, retried
  // elsewhere.
  const ops = await mixedLoad(client.service, {
    durationMs: loadMs,
    maxOps: 100_000 * SCALE,
    concurrency: 8,
    streamEvery: 10,
    publishEvery: 0,
    idempotent: true,
    attemptTimeoutMs: 300,
    timeoutMs: 5_000,
  });
  await fault;
  const reports = report('sigstop', ops, faultAt, faultEnd);
  note(t, reports);
  atLeast(
    reports.find((r) => r.kind === 'call'),
    99.9,
    'idempotent calls',
  );
  // Resumed, the node serves again: it answers some calls after SIGCONT (bounded wait).
  const resumed = nodes[1].fixture.pid;
  await eventually(
    async () => {
      const rsp = await client.service.client
        .call<{ pid: number }>(
          'chaos',
          'Echo.Call',
          {},
          { address: nodes[1].address, timeoutMs: 2_000 },
        )
        .catch(() => undefined);
      return rsp?.pid === resumed;
    },
    15_000,
    'the resumed node to answer',
  );
  return reports;
}

/**
 * The registry (Consul) stopped and restarted empty under load: calls go on from the cache; nodes
 * re-register.
 */
export async function registryRestart(t: TestContext): Promise<Report[]> {
  const consul = await startConsul();
  t.after(() => consul[Symbol.asyncDispose]());
  const env = { CONSUL_ADDR: consul.address, CHAOS_REGISTER_INTERVAL_MS: '1000' };
  const nodes = await Promise.all([0, 1].map(() => startNode('1.0.0', env)));
  t.after(() => Promise.all(nodes.map((n) => n.fixture.kill('SIGKILL'))));
  const registry = consulRegistry({ address: consul.address, requestTimeoutMs: 1_000 });
  const selector = registrySelector({ registry, cacheTtlMs: 1_000, logger: quietLogger() });
  const client = createService({ name: 'chaos-client', registry, selector, logger: quietLogger() });
  t.after(async () => {
    await client.stop();
    await selector.close();
    await registry.close();
  });
  await warm(client, nodes);
  const loadMs = BASE_LOAD_MS * SCALE;
  let faultAt = 0;
  let faultEnd = 0;
  let rediscoveredMs = 0;
  const fault = (async () => {
    await sleep(loadMs / 4);
    faultAt = Date.now();
    await consul.kill();
    await sleep(loadMs / 4);
    await consul.start();
    faultEnd = Date.now();
    // Dev-mode Consul comes back empty: the nodes' heartbeats must register them again.
    const lookup = consulRegistry({ address: consul.address });
    rediscoveredMs = await eventually(
      async () =>
        (await lookup.getService('chaos').catch(() => [])).flatMap((s) => s.nodes).length ===
        nodes.length,
      20_000,
      'the nodes to re-register',
    );
    await lookup.close();
  })();
  const ops = await mixedLoad(client, {
    durationMs: loadMs,
    maxOps: 100_000 * SCALE,
    concurrency: 8,
    streamEvery: 10,
    publishEvery: 0,
    idempotent: true,
    attemptTimeoutMs: 1_000,
    timeoutMs: 5_000,
  });
  await fault;
  const reports = report('registry-restart', ops, faultAt, faultEnd);
  note(t, reports);
  t.diagnostic(
    `registry-restart: nodes registered again ${rediscoveredMs} ms after Consul came back`,
  );
  atLeast(
    reports.find((r) => r.kind === 'call'),
    99.9,
    'idempotent calls',
  );
  // A node started after the restart is found and called.
  const late = await startNode('1.0.0', env);
  t.after(() => late.fixture.kill('SIGKILL'));
  await eventually(
    async () => {
      const rsp = await client.client
        .call<{ pid: number }>('chaos', 'Echo.Call', {}, { idempotent: true })
        .catch(() => undefined);
      return rsp?.pid === late.fixture.pid;
    },
    20_000,
    'a node started after the restart to get calls',
  );
  return reports;
}

/** NATS killed and restarted under durable publish load: no acknowledged message is lost. */
export async function natsRestart(t: TestContext): Promise<Report[]> {
  await using dir = await makeTempDir('chaos-nats-');
  const nats = await startNatsServer();
  t.after(() => nats[Symbol.asyncDispose]());
  const env = { TSMICRO_REGISTRY_DIR: dir.path, NATS_URL: nats.url };
  const nodes = await Promise.all([0, 1].map(() => startNode('1.0.0', env)));
  t.after(() => Promise.all(nodes.map((n) => n.fixture.kill('SIGKILL'))));
  const registry = localRegistry({ dir: dir.path });
  const broker = natsBroker({
    servers: nats.url,
    logger: quietLogger(),
    jetstream: {
      stream: 'CHAOS',
      subjects: ['chaos.>'],
      ackWaitMs: 2_000,
      publishTimeoutMs: 2_000,
    },
  });
  const client = createService({ name: 'chaos-client', registry, broker, logger: quietLogger() });
  t.after(async () => {
    await client.stop();
    await broker.disconnect();
    await registry.close();
  });
  await warm(client, nodes);
  const acked = new Set<number>();
  const loadMs = BASE_LOAD_MS * SCALE;
  let faultAt = 0;
  let faultEnd = 0;
  const fault = (async () => {
    await sleep(loadMs / 4);
    faultAt = Date.now();
    await nats.kill();
    await sleep(1_500);
    await nats.start();
    faultEnd = Date.now();
  })();
  const ops = await mixedLoad(client, {
    durationMs: loadMs,
    maxOps: 20_000 * SCALE,
    concurrency: 6,
    streamEvery: 10,
    publishEvery: 4,
    onAcked: (id) => acked.add(id),
    idempotent: true,
    attemptTimeoutMs: 1_000,
    timeoutMs: 5_000,
  });
  await fault;
  const delivered = (): Set<number> =>
    new Set(
      nodes.flatMap((n) =>
        n.fixture.lines.filter((l) => l.startsWith('got ')).map((l) => Number(l.slice(4))),
      ),
    );
  // Redelivery after the restart takes up to the ack wait; bounded.
  await eventually(
    () => [...acked].every((id) => delivered().has(id)),
    30_000,
    'every acknowledged message to be delivered',
  ).catch(() => undefined);
  const lost = [...acked].filter((id) => !delivered().has(id));
  const reports = report('nats-restart', ops, faultAt, faultEnd);
  note(t, reports);
  t.diagnostic(
    `nats-restart: ${acked.size} publishes acknowledged, ${lost.length} of them never delivered`,
  );
  assert.ok(acked.size > 0, 'some publishes were acknowledged');
  assert.deepEqual(lost, [], 'no acknowledged message lost');
  atLeast(
    reports.find((r) => r.kind === 'call'),
    99.9,
    'idempotent calls',
  );
  return reports;
}

/**
 * A rolling deploy: two v1 nodes replaced one by one by v2 (start new, SIGTERM old): zero lost
 * calls.
 */
export async function rollingDeploy(t: TestContext): Promise<Report[]> {
  await using dir = await makeTempDir('chaos-roll-');
  const env = { TSMICRO_REGISTRY_DIR: dir.path };
  const v1 = await Promise.all([0, 1].map(() => startNode('1.0.0', env)));
  const v2: Node[] = [];
  t.after(() => Promise.all([...v1, ...v2].map((n) => n.fixture.kill('SIGKILL'))));
  const client = localClient(dir.path);
  t.after(() => client.close());
  await warm(client.service, v1);
  const loadMs = BASE_LOAD_MS * SCALE;
  let faultAt = 0;
  let faultEnd = 0;
  const deploy = (async () => {
    await sleep(loadMs / 5);
    faultAt = Date.now();
    for (const old of v1) {
      v2.push(await startNode('2.0.0', env));
      const code = await old.fixture.kill('SIGTERM');
      assert.equal(code, 0, `graceful stop of ${old.id} exited ${code}`);
    }
    faultEnd = Date.now();
  })();
  // Not idempotent: only failures before a handler ran may be retried, so nothing may go wrong.
  const ops = await mixedLoad(client.service, {
    durationMs: loadMs,
    maxOps: 100_000 * SCALE,
    concurrency: 8,
    streamEvery: 10,
    publishEvery: 0,
    idempotent: false,
    attemptTimeoutMs: 0,
    timeoutMs: 5_000,
  });
  await deploy;
  const reports = report('rolling-deploy', ops, faultAt, faultEnd);
  note(t, reports);
  const calls = reports.find((r) => r.kind === 'call');
  assert.equal(
    calls?.ok,
    calls?.total,
    `lost calls in a rolling deploy: ${JSON.stringify(calls?.codes)}`,
  );
  atLeast(
    reports.find((r) => r.kind === 'stream'),
    100,
    'streams in a rolling deploy',
  );
  // Everything now answers from v2.
  const rsp = await client.service.client.call<{ version: string }>('chaos', 'Echo.Call', {});
  assert.equal(rsp.version, '2.0.0');
  return reports;
}

/** One sample of the client's resources during churn. */
interface Sample {
  at: number;
  heapMB: number;
  channels: number;
  watchers: number;
  handles: number;
  trackedNodes: number;
}

/** A forced GC for honest heap samples (node --test does not pass --expose-gc on). */
function forceGc(): () => void {
  v8.setFlagsFromString('--expose_gc');
  return vm.runInNewContext('gc') as () => void;
}

/**
 * A private count of a component, for leak checks only: fails loudly (instead of passing) if the
 * field is renamed.
 */
function privateSize(obj: unknown, field: string): number {
  const v = (obj as Record<string, { size?: unknown } | undefined>)[field]?.size;
  assert.equal(typeof v, 'number', `${field}.size is gone; update the churn test`);
  return v as number;
}

/**
 * Churn: nodes join and leave (graceful stops and kills, alternately) every `periodMs` while a
 * client calls steadily; its heap, sockets, registry watchers and tracked nodes must stay flat.
 */
export async function churn(
  t: TestContext,
  opts: { durationMs: number; periodMs: number; poolIdleMs?: number },
): Promise<Sample[]> {
  await using dir = await makeTempDir('chaos-churn-');
  const env = { TSMICRO_REGISTRY_DIR: dir.path };
  const live: Node[] = await Promise.all([0, 1, 2].map(() => startNode('1.0.0', env)));
  const all: Node[] = [...live];
  t.after(() => Promise.all(all.map((n) => n.fixture.kill('SIGKILL'))));
  const registry = localRegistry({ dir: dir.path });
  const selector = registrySelector({ registry, logger: quietLogger() });
  const transport = grpcTransport(opts.poolIdleMs ? { poolIdleMs: opts.poolIdleMs } : {});
  const client = createService({
    name: 'chaos-client',
    registry,
    selector,
    transport,
    logger: quietLogger(),
  });
  t.after(async () => {
    await client.stop();
    await selector.close();
    await registry.close();
    await transport.close();
  });
  await warm(client, live);
  const samples: Sample[] = [];
  const gc = forceGc();
  const sample = (): void => {
    gc();
    samples.push({
      at: Date.now(),
      heapMB: Number((process.memoryUsage().heapUsed / 2 ** 20).toFixed(1)),
      // gRPC channels in the client's pool, and the local registry's live watchers.
      channels: privateSize(privateField(transport, 'pool'), 'entries'),
      watchers: privateSize(registry, 'watchers'),
      handles: process.getActiveResourcesInfo().length,
      trackedNodes: selector.stats!('chaos').length,
    });
  };
  // The churn runs for durationMs and at least MIN_CHURN_CYCLES cycles: on a loaded machine a
  // node takes seconds to start, and a verdict on "flat" needs enough samples whatever the speed.
  // The cycle count bounds it (the file's own timeout bounds the time).
  const end = Date.now() + opts.durationMs;
  let cycles = 0;
  const churning = (async () => {
    while (Date.now() + opts.periodMs < end || cycles < MIN_CHURN_CYCLES) {
      await sleep(opts.periodMs);
      const joined = await startNode('1.0.0', env);
      all.push(joined);
      live.push(joined);
      const leaving = live.shift()!;
      await leaving.fixture.kill(cycles++ % 2 === 0 ? 'SIGTERM' : 'SIGKILL');
      all.splice(all.indexOf(leaving), 1);
      sample();
    }
  })();
  const tally = new Tally();
  const startedAt = Date.now();
  await mixedLoad(client, {
    durationMs: opts.durationMs,
    maxOps: 10_000_000,
    concurrency: 4,
    streamEvery: 20,
    publishEvery: 0,
    idempotent: true,
    attemptTimeoutMs: 1_000,
    timeoutMs: 5_000,
    sink: tally.add,
    until: churning,
  });
  await churning;
  const reports = tally.report('churn', startedAt, Date.now());
  note(t, reports);
  t.diagnostic(
    `churn: ${cycles} joins/leaves; samples (heap MB/channels/watchers/handles/tracked nodes): ${samples.map((s) => `${s.heapMB}/${s.channels}/${s.watchers}/${s.handles}/${s.trackedNodes}`).join(' ')}`,
  );
  atLeast(
    reports.find((r) => r.kind === 'call'),
    99.9,
    'idempotent calls under churn',
  );
  assert.ok(samples.length >= MIN_CHURN_CYCLES, `too few churn cycles (${samples.length})`);
  // Flat: the last third never exceeds the first third by more than a fixed slack.
  const third = Math.max(1, Math.floor(samples.length / 3));
  const first = samples.slice(0, third);
  const last = samples.slice(-third);
  const max = (xs: Sample[], k: keyof Sample): number => Math.max(...xs.map((s) => s[k]));
  const median = (xs: Sample[], k: keyof Sample): number => {
    const v = xs.map((s) => s[k]).sort((a, b) => a - b);
    return v[Math.floor(v.length / 2)];
  };
  // Channels to departed nodes close 1–1.5 × poolIdleMs after their last call, so the pool holds
  // the live nodes plus those that left within that window — however long the churn runs.
  const idleMs = opts.poolIdleMs ?? 60_000;
  const channelBound = 3 + 2 + Math.ceil((1.5 * idleMs) / opts.periodMs);
  assert.ok(
    max(samples, 'channels') <= channelBound,
    `gRPC channels not closed: ${max(samples, 'channels')} > ${channelBound}`,
  );
  assert.ok(
    max(last, 'watchers') <= max(first, 'watchers'),
    `registry watchers grew: ${max(first, 'watchers')} → ${max(last, 'watchers')}`,
  );
  // Handles spike while a node is being spawned or killed (its pipes, the child process, sockets
  // in flight); a leak raises the floor instead, so the last third's lowest sample is compared.
  const min = (xs: Sample[], k: keyof Sample): number => Math.min(...xs.map((s) => s[k]));
  assert.ok(
    min(last, 'handles') <= max(first, 'handles') + 10,
    `handles grew: ${max(first, 'handles')} → never below ${min(last, 'handles')}`,
  );
  assert.ok(
    max(samples, 'trackedNodes') <= 6,
    `the selector tracks departed nodes: ${max(samples, 'trackedNodes')}`,
  );
  assert.ok(
    median(last, 'heapMB') <= median(first, 'heapMB') * 1.5 + 16,
    `heap grew: ${median(first, 'heapMB')} → ${median(last, 'heapMB')} MB`,
  );
  return samples;
}

function privateField(obj: unknown, field: string): unknown {
  const v = (obj as Record<string, unknown>)[field];
  assert.ok(v !== undefined, `${field} is gone; update the churn test`);
  return v;
}
