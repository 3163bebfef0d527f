import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { MicroError } from '../../src/index.js';
import { requestLogging } from '../../src/wrappers/logging.js';
import { cluster } from '../helpers/services.js';
import { jsonLines, refusedAddress } from './support.js';

test('one structured line per attempt and per handled request, with node, attempt, duration, code, and redacted metadata', async () => {
  const c = cluster();
  const { stream, lines } = jsonLines();
  const log = requestLogging({
    logger: pino({ level: 'info' }, stream),
    redact: ['authorization', 'X-Api-Key'],
  });
  try {
    const b = c.service({
      name: 'b',
      wrapHandler: [log.handler],
      wrapSubscriber: [log.subscriber],
    });
    b.handle('B', {
      async Hello() {
        return { hi: true };
      },
      async Taken() {
        throw MicroError.conflict('b', 'already there');
      },
    });
    await b.start();
    const a = c.service({ name: 'a', wrapCall: [log.call] });
    const dead = await refusedAddress();
    const metadata = { Authorization: 'Bearer secret', 'x-api-key': 'k123', 'x-tenant': 'acme' };

    // The first address refuses, so the call is retried on the second: two call lines. With an
    // attempt limit each attempt runs in a context of its own; the count must not reset.
    await a.client.call(
      'b',
      'B.Hello',
      {},
      {
        address: [dead, b.server.node!.address],
        metadata,
        timeoutMs: 20_000,
        attemptTimeoutMs: 10_000,
      },
    );
    await a.client.call('b', 'B.Taken', {}, { metadata }).catch(() => {});

    const pick = (l: Record<string, unknown>): Record<string, unknown> => {
      const { kind, service, endpoint, node, attempt, code, msg, level, metadata: md } = l;
      return { kind, service, endpoint, node, attempt, code, msg, level, metadata: md };
    };
    const md = { authorization: '[Redacted]', 'x-api-key': '[Redacted]', 'x-tenant': 'acme' };
    const addr = b.server.node!.address;
    assert.deepEqual(lines.map(pick), [
      {
        kind: 'call',
        service: 'b',
        endpoint: 'B.Hello',
        node: dead,
        attempt: 1,
        code: 503,
        msg: 'call failed',
        level: 50,
        metadata: md,
      },
      {
        kind: 'handle',
        service: 'b',
        endpoint: 'B.Hello',
        node: undefined,
        attempt: undefined,
        code: undefined,
        msg: 'handle',
        level: 30,
        metadata: md,
      },
      {
        kind: 'call',
        service: 'b',
        endpoint: 'B.Hello',
        node: addr,
        attempt: 2,
        code: undefined,
        msg: 'call',
        level: 30,
        metadata: md,
      },
      {
        kind: 'handle',
        service: 'b',
        endpoint: 'B.Taken',
        node: undefined,
        attempt: undefined,
        code: 409,
        msg: 'handle failed',
        level: 40,
        metadata: md,
      },
      {
        kind: 'call',
        service: 'b',
        endpoint: 'B.Taken',
        node: addr,
        attempt: 1,
        code: 409,
        msg: 'call failed',
        level: 40,
        metadata: md,
      },
    ]);
    for (const l of lines) assert.equal(typeof l.durationMs, 'number');
    assert.ok(
      !JSON.stringify(lines).includes('secret') && !JSON.stringify(lines).includes('k123'),
      'no secret value in any line',
    );
  } finally {
    await c.stopAll();
  }
});

test('one line per delivered event, at error level when the subscriber throws', async () => {
  const c = cluster();
  const { stream, lines } = jsonLines();
  const log = requestLogging({ logger: pino({ level: 'info' }, stream), metadata: false });
  try {
    const s = c.service({ name: 'sub', wrapSubscriber: [log.subscriber] });
    let delivered = 0;
    s.subscribe('events', async (e: { fail: boolean }) => {
      delivered++;
      if (e.fail) throw new Error('bad event');
    });
    await s.start();
    const pub = c.service({ name: 'pub' });
    await pub.client.publish('events', { fail: false });
    await pub.client.publish('events', { fail: true }).catch(() => {});
    assert.equal(delivered, 2);
    assert.deepEqual(
      lines.map((l) => [l.kind, l.topic, l.msg, l.level, l.code, l.metadata]),
      [
        ['subscribe', 'events', 'event', 30, undefined, undefined],
        ['subscribe', 'events', 'event failed', 50, 500, undefined],
      ],
    );
  } finally {
    await c.stopAll();
  }
});
