import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidOptionError } from '../../../src/index.js';
import { natsBroker, type NatsBrokerOptions } from '../../../src/broker/nats/nats.js';
import { durableName, subjectMatches } from '../../../src/broker/nats/durable.js';

test('bad NATS broker options throw InvalidOptionError naming the option, at construction', () => {
  const cases: [unknown, string][] = [
    [{ servers: [] }, 'natsBroker.servers'],
    [{ outageBufferBytes: -1 }, 'natsBroker.outageBufferBytes'],
    [{ reconnectBaseMs: 1000, reconnectMaxMs: 10 }, 'natsBroker.reconnectMaxMs'],
    [{ maxReconnectAttempts: 1.5 }, 'natsBroker.maxReconnectAttempts'],
    [{ jetstream: { stream: 'a.b', subjects: ['x'] } }, 'natsBroker.jetstream.stream'],
    [{ jetstream: { stream: 'S', subjects: [] } }, 'natsBroker.jetstream.subjects'],
    [
      { jetstream: { stream: 'S', subjects: ['x'], maxDeliver: 0 } },
      'natsBroker.jetstream.maxDeliver',
    ],
  ];
  for (const [opts, name] of cases) {
    assert.throws(
      () => natsBroker(opts as NatsBrokerOptions),
      (err: unknown) => err instanceof InvalidOptionError && err.message.includes(name),
      name,
    );
  }
});

test('an unreachable NATS fails connect with MicroError 503 (id tsmicro.broker), not a hang', async () => {
  const quiet = {
    debug() {},
    info() {},
    warn() {},
    error() {},
    child() {
      return quiet;
    },
  };
  // Port 1 on loopback refuses at once.
  const broker = natsBroker({
    servers: 'nats://127.0.0.1:1',
    connectTimeoutMs: 2_000,
    logger: quiet,
  });
  await assert.rejects(
    broker.connect(),
    (err: unknown) =>
      (err as { code?: number; id?: string }).code === 503 &&
      (err as { id?: string }).id === 'tsmicro.broker',
  );
  await assert.rejects(
    broker.publish('t', { header: {}, body: new Uint8Array() }),
    (err: unknown) => (err as { code?: number }).code === 503,
  );
});

test('durable subjects match NATS wildcards; consumer names are valid and distinct', () => {
  assert.ok(subjectMatches('jobs.>', 'jobs.created'));
  assert.ok(subjectMatches('jobs.>', 'jobs.a.b'));
  assert.ok(!subjectMatches('jobs.>', 'jobs'));
  assert.ok(subjectMatches('jobs.*', 'jobs.created'));
  assert.ok(!subjectMatches('jobs.*', 'jobs.a.b'));
  assert.ok(subjectMatches('jobs.created', 'jobs.created'));
  assert.ok(!subjectMatches('jobs.created', 'jobs.updated'));
  const a = durableName('workers', 'a.b');
  const b = durableName('workers', 'a_b');
  assert.match(a, /^[A-Za-z0-9_-]+$/);
  assert.notEqual(a, b);
  assert.equal(a, durableName('workers', 'a.b'), 'stable across restarts');
});
