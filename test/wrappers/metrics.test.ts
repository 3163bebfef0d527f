import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { MicroError, registrySelector } from '../../src/index.js';
import { circuitBreaker } from '../../src/wrappers/breaker.js';
import { prometheusMetrics } from '../../src/wrappers/metrics.js';
import { cluster } from '../helpers/services.js';
import { refusedAddress } from './support.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text format (the subset prom-client writes). */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2]!;
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of the samples named `name` whose labels include `labels`. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

test('metrics scraped from the exposed endpoint match the counted calls exactly', async () => {
  const c = cluster();
  const metrics = prometheusMetrics({ version: '1.2.3', id: 'm-1' });
  const http = createServer(metrics.metricsHandler());
  try {
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    const { port } = http.address() as { port: number };

    const server = c.service({
      name: 'm',
      wrapHandler: [metrics.handler],
      wrapSubscriber: [metrics.subscriber],
    });
    server.handle('M', {
      async Ok() {
        return {};
      },
      async Fail() {
        throw MicroError.internal('m', 'no');
      },
    });
    server.subscribe('events', async (e: { bad: boolean }) => {
      if (e.bad) throw new Error('bad');
    });
    await server.start();
    const breakers = circuitBreaker({
      volumeThreshold: 3,
      resetTimeoutMs: 60_000,
      onStateChange: metrics.breakerState,
    });
    const client = c.service({
      name: 'caller',
      retries: 0,
      wrapClient: [metrics.client, breakers.client],
      wrapCall: [metrics.call],
    }).client;

    const ok = 7;
    const failed = 3;
    for (let i = 0; i < ok; i++) await client.call('m', 'M.Ok', {});
    for (let i = 0; i < failed; i++) await client.call('m', 'M.Fail', {}).catch(() => {});
    // One call whose first attempt is refused: two attempts, one retry, one success.
    await client.call(
      'm',
      'M.Ok',
      {},
      { address: [await refusedAddress(), server.server.node!.address], retries: 1 },
    );
    // The breaker for M.Fail is open now: this call never reaches the server.
    await client.call('m', 'M.Fail', {}).catch(() => {});
    await client.publish('events', { bad: false });
    // The subscriber's failure is its own: the publish itself succeeded.
    await client.publish('events', { bad: true });

    const rsp = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(rsp.status, 200);
    assert.match(rsp.headers.get('content-type') ?? '', /^text\/plain/);
    const s = parse(await rsp.text());
    const server1 = { micro_name: 'm', micro_version: '1.2.3', micro_id: 'm-1' };

    assert.equal(
      value(s, 'micro_request_total', {
        ...server1,
        micro_endpoint: 'M.Ok',
        micro_status: 'success',
      }),
      ok + 1,
    );
    assert.equal(
      value(s, 'micro_request_total', {
        ...server1,
        micro_endpoint: 'M.Fail',
        micro_status: 'failure',
      }),
      failed,
    );
    assert.equal(value(s, 'micro_request_total'), ok + 1 + failed);
    assert.equal(
      value(s, 'micro_request_duration_seconds_count', { micro_endpoint: 'M.Ok' }),
      ok + 1,
    );
    assert.equal(
      value(s, 'micro_request_duration_seconds_bucket', { micro_endpoint: 'M.Ok', le: '+Inf' }),
      ok + 1,
    );
    assert.equal(value(s, 'micro_latency_microseconds_count', { micro_endpoint: 'M.Ok' }), ok + 1);
    assert.ok(value(s, 'micro_latency_microseconds_sum', { micro_endpoint: 'M.Ok' }) > 0);
    assert.equal(value(s, 'tsmicro_server_in_flight'), 0);

    assert.equal(
      value(s, 'tsmicro_client_request_total', {
        micro_service: 'm',
        micro_endpoint: 'M.Ok',
        micro_status: 'success',
      }),
      ok + 1,
    );
    assert.equal(
      value(s, 'tsmicro_client_request_total', {
        micro_service: 'm',
        micro_endpoint: 'M.Fail',
        micro_status: 'failure',
      }),
      failed + 1,
    );
    assert.equal(value(s, 'tsmicro_client_request_duration_seconds_count'), ok + 1 + failed + 1);
    assert.equal(value(s, 'tsmicro_client_attempts_total', { micro_endpoint: 'M.Ok' }), ok + 2);
    assert.equal(value(s, 'tsmicro_client_attempts_total', { micro_endpoint: 'M.Fail' }), failed);
    assert.equal(value(s, 'tsmicro_client_retries_total'), 1);
    assert.equal(value(s, 'tsmicro_client_in_flight'), 0);
    assert.equal(value(s, 'tsmicro_breaker_state', { breaker: 'm.M.Fail' }), 2);

    assert.equal(
      value(s, 'tsmicro_publish_total', { micro_topic: 'events', micro_status: 'success' }),
      2,
    );
    assert.equal(
      value(s, 'tsmicro_subscriber_messages_total', {
        micro_topic: 'events',
        micro_status: 'success',
      }),
      1,
    );
    assert.equal(
      value(s, 'tsmicro_subscriber_messages_total', {
        micro_topic: 'events',
        micro_status: 'failure',
      }),
      1,
    );
    breakers.close();
  } finally {
    http.close();
    await c.stopAll();
  }
});

test('each metrics instance has its own registry: two services in one process never share counts', async () => {
  const one = prometheusMetrics();
  const two = prometheusMetrics();
  assert.notEqual(one.registry, two.registry);
  const c = cluster();
  try {
    const s = c.service({ name: 'solo', wrapHandler: [one.handler] });
    s.handle('S', {
      async Ping() {
        return {};
      },
    });
    await s.start();
    await c.service({ name: 'caller' }).client.call('solo', 'S.Ping', {});
    assert.equal(value(parse(await one.registry.metrics()), 'micro_request_total'), 1);
    assert.equal(value(parse(await two.registry.metrics()), 'micro_request_total'), 0);
  } finally {
    await c.stopAll();
  }
});

test('node ejections are counted: a registered node that refuses connections is ejected once', async () => {
  const c = cluster();
  const metrics = prometheusMetrics();
  try {
    const server = c.service({ name: 'ej' });
    server.handle('E', {
      async Ping() {
        return {};
      },
    });
    await server.start();
    // A second node for the same service, registered but dead: every dial is refused.
    const dead = { id: 'ej-dead', address: await refusedAddress(), metadata: {} };
    await c.registry.register(
      { name: 'ej', version: '', endpoints: [], nodes: [dead] },
      { ttlMs: 60_000 },
    );
    const selector = registrySelector({
      registry: c.registry,
      strategy: 'roundRobin',
      ejection: { afterFaults: 2, baseMs: 60_000 },
      onEject: metrics.ejection,
    });
    const client = c.service({ name: 'caller', selector }).client;
    // Refusals are retried on the live node, so every call succeeds while the dead one is ejected.
    for (let i = 0; i < 20; i++) await client.call('ej', 'E.Ping', {});
    const s = parse(await metrics.registry.metrics());
    assert.equal(value(s, 'tsmicro_selector_ejections_total', { micro_service: 'ej' }), 1);
    assert.equal(selector.stats?.('ej').find((n) => n.id === 'ej-dead')?.ejected, true);
    await selector.close();
  } finally {
    await c.stopAll();
  }
});

test('micro_version and micro_id come from the serving service when the wrapper is not told them', async () => {
  const c = cluster();
  // One wrapper on two services: each request is labelled with its own service's version and node.
  const metrics = prometheusMetrics();
  try {
    const servers = await Promise.all(
      (
        [
          ['mv-a', '2.3.4'],
          ['mv-b', '0.9.0-rc.1'],
        ] as const
      ).map(async ([name, version]) => {
        const s = c.service({ name, version, wrapHandler: [metrics.handler] });
        s.handle('V', {
          async Ok() {
            return {};
          },
        });
        await s.start();
        return s;
      }),
    );
    const client = c.service({ name: 'mv-caller' }).client;
    for (let i = 0; i < 3; i++) await client.call('mv-a', 'V.Ok', {});
    await client.call('mv-b', 'V.Ok', {});
    const s = parse(await metrics.registry.metrics());
    const labelled = (name: string, version: string, id: string): number =>
      value(s, 'micro_request_total', {
        micro_name: name,
        micro_version: version,
        micro_id: id,
        micro_endpoint: 'V.Ok',
        micro_status: 'success',
      });
    assert.equal(labelled('mv-a', '2.3.4', servers[0].server.node!.id), 3);
    assert.equal(labelled('mv-b', '0.9.0-rc.1', servers[1].server.node!.id), 1);
    assert.equal(value(s, 'micro_request_total', { micro_version: '' }), 0, 'no empty label');
  } finally {
    await c.stopAll();
  }
});

test('hedges sent and hedges that won are counted per service and endpoint', async () => {
  const c = cluster();
  const metrics = prometheusMetrics();
  try {
    // Two nodes of one service: the first stalls until its call is cancelled, the second answers.
    const nodes: string[] = [];
    for (const stall of [true, false]) {
      const s = c.service({ name: 'hedged' });
      s.handle('H', {
        async Get(_req: unknown, ctx) {
          if (stall) await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
          return { stall };
        },
      });
      await s.start();
      nodes.push(s.server.node!.address);
    }
    const client = c.service({ name: 'caller', onHedge: metrics.hedge }).client;
    for (let i = 0; i < 3; i++) {
      const reply = await client.call<{ stall: boolean }>(
        'hedged',
        'H.Get',
        {},
        {
          address: nodes,
          idempotent: true,
          hedge: { delayMs: 20 },
        },
      );
      assert.equal(reply.stall, false);
    }
    const s = parse(await metrics.registry.metrics());
    const labels = { micro_service: 'hedged', micro_endpoint: 'H.Get' };
    assert.equal(value(s, 'tsmicro_client_hedges_total', labels), 3);
    assert.equal(value(s, 'tsmicro_client_hedge_wins_total', labels), 3);
  } finally {
    await c.stopAll();
  }
});
