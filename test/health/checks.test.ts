import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createService,
  InvalidOptionError,
  memoryRegistry,
  type HealthCheck,
  type HealthReport,
} from '../../src/index.js';
import { quietLogger } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

// The health model on its own: when a check's outcome changes readiness, counted in runs of the
// check rather than in time.

function service(checks: HealthCheck[] = []) {
  return createService({
    name: 'health.model',
    registry: memoryRegistry(),
    logger: quietLogger(),
    drainDelayMs: 0,
    health: { registryCheck: false, checks },
  });
}

test('a critical check flips readiness on its first failing run, and back on its first passing one', async () => {
  let runs = 0;
  let failFrom = Infinity;
  let passFrom = Infinity;
  const flips: { ready: boolean; runs: number }[] = [];
  await using svc = service([
    {
      name: 'dep',
      intervalMs: 20,
      check: () => {
        runs++;
        if (runs >= failFrom && runs < passFrom) throw new Error(`run ${runs} fails`);
      },
    },
  ]);
  svc.health.onChange((r: HealthReport) => flips.push({ ready: r.status === 'up', runs }));
  assert.equal(svc.health.ready, false, 'not ready before start');
  assert.equal(svc.health.live, false);
  await svc.start();
  assert.equal(svc.health.ready, true);
  assert.equal(svc.health.live, true);
  failFrom = runs + 3;
  passFrom = failFrom + 4;
  await waitFor(
    () => flips.length >= 3,
    10_000,
    () => `flips, got ${JSON.stringify(flips)}`,
  );
  assert.deepEqual(
    flips.map((f) => f.ready),
    [true, false, true],
  );
  assert.equal(flips[1].runs, failFrom, 'not ready after the first failing run');
  assert.equal(flips[2].runs, passFrom, 'ready again after the first passing run');
});

test('a check that outlives its timeout fails, and its signal aborts', async () => {
  let aborted = 0;
  await using svc = service([
    {
      name: 'slow',
      timeoutMs: 30,
      intervalMs: 60_000,
      check: (signal) =>
        new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => {
            aborted++;
            resolve();
          }),
        ),
    },
  ]);
  await svc.start();
  assert.equal(svc.health.ready, false, 'not ready: the only critical check timed out');
  assert.equal(aborted, 1);
  const [slow] = svc.health.report().checks;
  assert.equal(slow.status, 'down');
  assert.equal(slow.error, 'timed out after 30 ms');
});

test('a failing non-critical check is reported but keeps the node ready; removing a failing critical one makes it ready', async () => {
  await using svc = service([
    { name: 'optional', critical: false, check: () => Promise.reject(new Error('meh')) },
    { name: 'blocker', check: () => Promise.reject(new Error('no')) },
  ]);
  await svc.start();
  assert.equal(svc.health.ready, false);
  assert.deepEqual(
    svc.health.report().checks.map((c) => [c.name, c.status, c.error]),
    [
      ['optional', 'down', 'meh'],
      ['blocker', 'down', 'no'],
    ],
  );
  assert.equal(svc.health.removeCheck('blocker'), true);
  assert.equal(svc.health.removeCheck('blocker'), false);
  assert.equal(svc.health.ready, true);
  assert.equal(svc.health.report().status, 'up');
});

test('a service not ready at start serves unregistered, and registers once ready', async () => {
  const registry = memoryRegistry();
  let ok = false;
  await using svc = createService({
    name: 'health.late',
    registry,
    logger: quietLogger(),
    drainDelayMs: 0,
    health: { checks: [{ name: 'warmup', intervalMs: 20, check: () => assert.ok(ok, 'cold') }] },
  });
  svc.handle('Greeter', { Hello: () => ({ hi: true }) });
  await svc.start();
  assert.equal(svc.health.ready, false);
  assert.deepEqual(await registry.getService('health.late'), []);
  ok = true;
  await waitFor(
    async () => (await registry.getService('health.late')).length === 1,
    5_000,
    'registration once ready',
  );
});

test('bad checks fail where they are given, naming the field', () => {
  const cases: [unknown, string][] = [
    [{ check: () => {} }, 'health.checks[0].name'],
    [{ name: 'a b', check: () => {} }, 'health.checks[0].name'],
    [{ name: 'x' }, 'health.checks[0].check'],
    [{ name: 'x', check: () => {}, timeoutMs: 0 }, 'health.checks[0].timeoutMs'],
    [{ name: 'x', check: () => {}, intervalMs: 1.5 }, 'health.checks[0].intervalMs'],
    [{ name: 'x', check: () => {}, critical: 'yes' }, 'health.checks[0].critical'],
  ];
  for (const [check, option] of cases)
    assert.throws(
      () => service([check as HealthCheck]),
      (err: unknown) => err instanceof InvalidOptionError && err.option === option,
      option,
    );
  assert.throws(
    () =>
      createService({
        name: 'h',
        registry: memoryRegistry(),
        health: { httpAddress: 'nope' },
      }),
    (err: unknown) => err instanceof InvalidOptionError && err.option === 'health.httpAddress',
  );
  const svc = service([{ name: 'dup', check: () => {} }]);
  assert.throws(
    () => svc.health.addCheck({ name: 'dup', check: () => {} }),
    (err: unknown) => err instanceof InvalidOptionError && err.option === 'health.addCheck.name',
  );
});
