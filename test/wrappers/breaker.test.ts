import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createService,
  memoryRegistry,
  MicroError,
  type ClientWrapper,
  type Service,
} from '../../src/index.js';
import { BREAKER_ERROR_ID, circuitBreaker, type BreakerState } from '../../src/wrappers/breaker.js';
import { startFixture, type Fixture } from '../helpers/processes.js';
import { cluster, quietLogger } from '../helpers/services.js';

// The flaky server is a real child process that fails with 500 until told to recover; the server's
// own count of calls shows which calls the open breaker kept away from it.
let flaky: Fixture;
let address: string;

before(async () => {
  flaky = startFixture('wrappers-flaky-server', [], { TSMICRO_LOG_LEVEL: 'silent' });
  address = (await flaky.waitForLine(/^ready (\S+)$/))[1]!;
});
after(async () => {
  await flaky.kill('SIGKILL');
});

function caller(wrapClient: readonly ClientWrapper[]): Service {
  return createService({
    name: 'breaker-caller',
    registry: memoryRegistry(),
    logger: quietLogger(),
    retries: 0,
    wrapClient,
  });
}

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return MicroError.is(err) ? `${err.code} ${err.id}` : String(err);
  }
}

test('the breaker opens after the failures, fails fast without reaching the server, half-opens and closes on success', async () => {
  const states: BreakerState[] = [];
  const waiters: (() => void)[] = [];
  const breakers = circuitBreaker({
    volumeThreshold: 4,
    errorThresholdPercentage: 50,
    resetTimeoutMs: 1_000,
    rollingWindowMs: 120_000,
    onStateChange: (_key, s) => {
      states.push(s);
      for (const w of waiters.splice(0)) w();
    },
  });
  const nth = (n: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no state change #${n} within 30 s; saw ${states.join(',')}`)),
        30_000,
      );
      const check = (): void => {
        if (states.length >= n) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      check();
    });
  await using svc = caller([breakers.client]);
  const doCall = (): Promise<string> =>
    outcome(svc.client.call('flaky', 'Flaky.Do', {}, { address, timeoutMs: 10_000 }));
  const served = async (): Promise<number> =>
    (
      await svc.client.call<{ calls: number }>(
        'flaky',
        'Flaky.Count',
        {},
        { address, timeoutMs: 10_000 },
      )
    ).calls;

  // Closed: four failures reach the server, and the fourth opens the breaker.
  const first: string[] = [];
  for (let i = 0; i < 4; i++) first.push(await doCall());
  assert.deepEqual(first, Array(4).fill('500 flaky'));
  assert.deepEqual(states, ['open']);
  assert.equal(breakers.state('flaky.Flaky.Do'), 'open');

  // Open: calls fail fast with the breaker's own 503 and never reach the server.
  const rejected: string[] = [];
  for (let i = 0; i < 5; i++) rejected.push(await doCall());
  assert.deepEqual(rejected, Array(5).fill(`503 ${BREAKER_ERROR_ID}`));
  assert.equal(await served(), 4);

  // Half-open: one probe goes through; it fails (server still failing), so the breaker reopens.
  await nth(2);
  assert.equal(await doCall(), '500 flaky');
  assert.deepEqual(states, ['open', 'half-open', 'open']);
  assert.equal(await served(), 5);

  // The server recovers; the next probe succeeds and closes the breaker; calls flow again.
  await svc.client.call('flaky', 'Flaky.Recover', {}, { address, timeoutMs: 10_000 });
  await nth(4);
  assert.equal(await doCall(), 'ok');
  assert.deepEqual(states, ['open', 'half-open', 'open', 'half-open', 'closed']);
  const later: string[] = [];
  for (let i = 0; i < 3; i++) later.push(await doCall());
  assert.deepEqual(later, ['ok', 'ok', 'ok']);
  assert.equal(await served(), 9);
  breakers.close();
});

test('an open breaker error is a 503 without a transport fault, so node health never counts it', async () => {
  const c = cluster();
  try {
    const server = c.service({ name: 'always-500' });
    server.handle('Bad', {
      async Do() {
        throw MicroError.internal('always-500', 'no');
      },
    });
    await server.start();
    const breakers = circuitBreaker({ volumeThreshold: 1, resetTimeoutMs: 60_000 });
    const client = c.service({ name: 'caller', retries: 0, wrapCall: [breakers.call] }).client;
    assert.equal(await outcome(client.call('always-500', 'Bad.Do', {})), '500 always-500');
    const err = await client.call('always-500', 'Bad.Do', {}).catch((e: unknown) => e);
    assert.ok(MicroError.is(err, 503));
    assert.equal(err.id, BREAKER_ERROR_ID);
    assert.equal(err.fault, undefined);
    assert.equal(breakers.state(`always-500.Bad.Do@${server.server.node!.address}`), 'open');
    breakers.close();
  } finally {
    await c.stopAll();
  }
});

test('4xx answers do not trip the breaker; the fallback answers for an open one', async () => {
  const c = cluster();
  try {
    const server = c.service({ name: 'picky' });
    server.handle('Picky', {
      async Bad() {
        throw MicroError.badRequest('picky', 'your fault');
      },
      async Down() {
        throw MicroError.internal('picky', 'down');
      },
    });
    await server.start();
    const breakers = circuitBreaker({
      volumeThreshold: 2,
      resetTimeoutMs: 60_000,
      fallback: (call, err) => ({ fallback: call.endpoint, code: err.code }),
    });
    const client = c.service({ name: 'caller', retries: 0, wrapClient: [breakers.client] }).client;
    const bad: string[] = [];
    for (let i = 0; i < 4; i++) bad.push(await outcome(client.call('picky', 'Picky.Bad', {})));
    assert.deepEqual(bad, Array(4).fill('400 picky'));
    assert.equal(breakers.state('picky.Picky.Bad'), 'closed');
    // Failures answered by the fallback still count; once open, the fallback sees the breaker's
    // 503.
    const answers: unknown[] = [];
    for (let i = 0; i < 3; i++) answers.push(await client.call('picky', 'Picky.Down', {}));
    assert.deepEqual(answers, [
      { fallback: 'Picky.Down', code: 500 },
      { fallback: 'Picky.Down', code: 500 },
      { fallback: 'Picky.Down', code: 503 },
    ]);
    assert.equal(breakers.state('picky.Picky.Down'), 'open');
    breakers.close();
  } finally {
    await c.stopAll();
  }
});
