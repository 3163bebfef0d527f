import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createService,
  localRegistry,
  MicroError,
  registrySelector,
  type HedgeEvent,
  type ServiceOptions,
} from '../../src/index.js';
import { quietLogger } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';
import { load, startServer, type ServerProcess } from './fleet.js';

// Hedged requests across processes: hedge-server nodes print `start n` when a request reaches
// their handler and `aborted n` when its signal aborts, so each test reads which node got which
// request from the nodes themselves. Calls name their nodes in order (`address`), so the first
// attempt and the hedge land where the test says; the selector path is tested once too.
// Verdicts count (hedges, requests begun, aborts); the only times are delays between a fast
// node (0 ms) and a stalled one (5–30 s), far apart on any machine.

const STALL_MS = '30000';

function hedgingClient(dir: string, extra: Partial<ServiceOptions> = {}) {
  const registry = localRegistry({ dir });
  const selector = registrySelector({ registry });
  const events: HedgeEvent[] = [];
  const service = createService({
    name: 'hedging-client',
    registry,
    selector,
    logger: quietLogger(),
    onHedge: (e) => events.push(e),
    ...extra,
  });
  return {
    service,
    events,
    sent: () => events.filter((e) => e.kind === 'sent').length,
    won: () => events.filter((e) => e.kind === 'won').length,
    async [Symbol.asyncDispose]() {
      await service.stop();
      await selector.close();
      await registry.close();
    },
  };
}

async function servers(dir: string, ...specs: [string, string][]): Promise<ServerProcess[]> {
  return Promise.all(
    specs.map(([delay, mode]) => startServer(dir, 'hedge-server', ['echo', delay, mode])),
  );
}

async function begun(client: ReturnType<typeof hedgingClient>, s: ServerProcess): Promise<number> {
  const r = await client.service.client.call<{ begun: number }>(
    'echo',
    'Echo.Count',
    {},
    {
      address: s.address,
    },
  );
  return r.begun;
}

test('a hedge goes to another node, wins, and the stalled attempt is cancelled on its node', async (t) => {
  await using dir = await makeTempDir('hedge-win-');
  const [slow, fast] = await servers(dir.path, [STALL_MS, 'ok'], ['0', 'ok']);
  t.after(() => Promise.all([slow, fast].map((s) => s.fixture.kill('SIGKILL'))));
  await using client = hedgingClient(dir.path);

  const reply = await client.service.client.call<{ pid: number }>(
    'echo',
    'Echo.Call',
    { n: 1 },
    {
      address: [slow.address, fast.address],
      idempotent: true,
      hedge: { delayMs: 50 },
      timeoutMs: 20_000,
    },
  );
  assert.equal(reply.pid, fast.fixture.pid, 'the hedge on the fast node answered');
  await slow.fixture.waitForLine(/^start 1$/);
  await fast.fixture.waitForLine(/^done 1$/);
  await slow.fixture.waitForLine(/^aborted 1$/, 10_000);
  assert.deepEqual([client.sent(), client.won()], [1, 1], 'one hedge sent, and it won');
});

test('through the selector, a hedge goes to a node the call has not tried', async (t) => {
  await using dir = await makeTempDir('hedge-selector-');
  // Both nodes stall: whichever the first attempt lands on, the hedge must reach the other.
  const nodes = await servers(dir.path, ['400', 'ok'], ['400', 'ok']);
  t.after(() => Promise.all(nodes.map((s) => s.fixture.kill('SIGKILL'))));
  await using client = hedgingClient(dir.path);
  for (let n = 1; n <= 5; n++) {
    await client.service.client.call(
      'echo',
      'Echo.Call',
      { n },
      {
        idempotent: true,
        hedge: { delayMs: 20 },
        timeoutMs: 20_000,
      },
    );
    for (const s of nodes) await s.fixture.waitForLine(new RegExp(`^start ${n}$`));
  }
  assert.equal(client.sent(), 5, 'every call was hedged once');
});

test('a business error from the hedge ends the call at once and cancels the first attempt', async (t) => {
  await using dir = await makeTempDir('hedge-business-');
  const [slow, refusing] = await servers(dir.path, [STALL_MS, 'ok'], ['0', 'error400']);
  t.after(() => Promise.all([slow, refusing].map((s) => s.fixture.kill('SIGKILL'))));
  await using client = hedgingClient(dir.path);
  await assert.rejects(
    client.service.client.call(
      'echo',
      'Echo.Call',
      { n: 7 },
      {
        address: [slow.address, refusing.address],
        idempotent: true,
        hedge: { delayMs: 50 },
        timeoutMs: 20_000,
      },
    ),
    (err: unknown) => MicroError.is(err, 400),
  );
  await slow.fixture.waitForLine(/^aborted 7$/, 10_000);
});

test('a call that is not idempotent is never hedged', async (t) => {
  await using dir = await makeTempDir('hedge-not-idempotent-');
  const [slow, fast] = await servers(dir.path, ['500', 'ok'], ['0', 'ok']);
  t.after(() => Promise.all([slow, fast].map((s) => s.fixture.kill('SIGKILL'))));
  // A client-wide hedge as well as the call's own: neither applies.
  await using client = hedgingClient(dir.path, { hedge: { delayMs: 10 } });
  const reply = await client.service.client.call<{ pid: number }>(
    'echo',
    'Echo.Call',
    { n: 3 },
    {
      address: [slow.address, fast.address],
      hedge: { delayMs: 10 },
      timeoutMs: 20_000,
    },
  );
  assert.equal(reply.pid, slow.fixture.pid, 'the slow first node answered');
  assert.equal(client.sent(), 0);
  assert.equal(await begun(client, fast), 0, 'the fast node never saw the call');
});

test('no hedge is sent past the call budget', async (t) => {
  await using dir = await makeTempDir('hedge-budget-');
  const [a, b, c] = await servers(dir.path, [STALL_MS, 'ok'], [STALL_MS, 'ok'], [STALL_MS, 'ok']);
  t.after(() => Promise.all([a, b, c].map((s) => s.fixture.kill('SIGKILL'))));
  await using client = hedgingClient(dir.path);
  const address = [a.address, b.address, c.address];
  // A delay longer than the budget: the call ends with its 408 and no hedge.
  await assert.rejects(
    client.service.client.call(
      'echo',
      'Echo.Call',
      { n: 1 },
      {
        address,
        idempotent: true,
        hedge: { delayMs: 1_000, maxHedges: 2 },
        timeoutMs: 300,
      },
    ),
    (err: unknown) => MicroError.is(err, 408),
  );
  assert.equal(client.sent(), 0, 'a hedge due after the deadline is never sent');
  assert.equal((await begun(client, b)) + (await begun(client, c)), 0);
  // Delays of 250 ms in a 600 ms budget: at most two fit, however late the timers fire.
  await assert.rejects(
    client.service.client.call(
      'echo',
      'Echo.Call',
      { n: 2 },
      {
        address,
        idempotent: true,
        hedge: { delayMs: 250, maxHedges: 5 },
        timeoutMs: 600,
      },
    ),
    (err: unknown) => MicroError.is(err, 408),
  );
  assert.ok(client.sent() <= 2, `at most two hedges fit in the budget (${client.sent()} sent)`);
});

test('under a slow service the extra-load cap stops hedges, so calls do not multiply', async (t) => {
  await using dir = await makeTempDir('hedge-cap-');
  // Every node is slow: every call wants a hedge after 5 ms.
  const nodes = await servers(dir.path, ['60', 'ok'], ['60', 'ok'], ['60', 'ok']);
  t.after(() => Promise.all(nodes.map((s) => s.fixture.kill('SIGKILL'))));
  const calls = 200;
  const run = async (hedgeBudget: ServiceOptions['hedgeBudget']) => {
    await using client = hedgingClient(dir.path, { hedgeBudget });
    const before = (await Promise.all(nodes.map((s) => begun(client, s)))).reduce((x, y) => x + y);
    const result = await load({ concurrency: 10, durationMs: 60_000, maxCalls: calls }, (n) =>
      client.service.client.call(
        'echo',
        'Echo.Call',
        { n },
        {
          idempotent: true,
          hedge: { delayMs: 5, maxHedges: 2 },
          timeoutMs: 20_000,
        },
      ),
    );
    assert.equal(result.failed, 0, String(result.errors[0]));
    const after = (await Promise.all(nodes.map((s) => begun(client, s)))).reduce((x, y) => x + y);
    return { hedges: client.sent(), requests: after - before };
  };

  const capped = await run({ ratio: 0.1, minPerSec: 0 });
  t.diagnostic(`capped: ${JSON.stringify(capped)} for ${calls} calls`);
  assert.ok(capped.hedges <= 0.1 * calls, `hedges stay within 10 % of calls (${capped.hedges})`);
  assert.ok(
    capped.requests <= 1.1 * calls,
    `the nodes see at most 1.1× the calls (${capped.requests})`,
  );
  // Control: without the cap the same load hedges nearly every call, twice.
  const uncapped = await run(false);
  t.diagnostic(`uncapped: ${JSON.stringify(uncapped)} for ${calls} calls`);
  assert.ok(uncapped.hedges > calls, `uncapped, hedges multiply the load (${uncapped.hedges})`);
});
