import { test } from 'node:test';
import { Redis } from 'ioredis';
import assert from 'node:assert/strict';
import {
  createService,
  InvalidOptionError,
  localRegistry,
  MicroError,
  registrySelector,
} from '../../src/index.js';
import {
  globalRateLimiter,
  type GlobalRateLimitOptions,
} from '../../src/wrappers/global-ratelimit.js';
import { startServer, type ServerProcess } from '../client/fleet.js';
import { redisSkipReason, startRedisServer } from '../helpers/redis.js';
import { quietLogger } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

// A rate limit shared by three server processes through a real redis-server this test starts on
// its own port: 200 calls/s for the three together. The test offers 400 calls/s (paced: each tick
// launches what the elapsed time calls for, so a late timer does not lower the load) and counts
// what was accepted. The limiter counts in one-second windows that start with the first call,
// so 10 s of load fill exactly ten of them: 2,000 accepted, and ±10 % leaves room for a window
// that a slow machine's load does not fill. Then the store is SIGKILLed mid-run (every instance
// must be on its per-instance fallback of 100/s within 1 s: the kernel closes the connection at
// once, so that is a bound generous by orders of magnitude) and restarted (the shared count of
// 200/s must resume, told apart from the fallback's 300/s of the three).

const OFFERED_PER_SEC = 400;

interface Counted {
  ok: number;
  limited: number;
  other: unknown[];
}

/** Offers OFFERED_PER_SEC calls per second for `ms`, and counts how each ended. */
async function offer(ms: number, call: () => Promise<unknown>): Promise<Counted> {
  const counted: Counted = { ok: 0, limited: 0, other: [] };
  const pending: Promise<void>[] = [];
  const start = Date.now();
  let launched = 0;
  while (Date.now() - start < ms) {
    const due = Math.min(
      Math.floor(((Date.now() - start) / 1000) * OFFERED_PER_SEC),
      (ms / 1000) * OFFERED_PER_SEC,
    );
    for (; launched < due; launched++) {
      pending.push(
        call().then(
          () => void counted.ok++,
          (err: unknown) => {
            if (MicroError.is(err, 429)) counted.limited++;
            else counted.other.push(err);
          },
        ),
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await Promise.all(pending);
  return counted;
}

test(
  'three servers share one limit through Redis, fall back at once when it dies, and share again when it is back',
  { skip: redisSkipReason() },
  async (t) => {
    await using redis = await startRedisServer();
    await using dir = await makeTempDir('global-ratelimit-');
    const servers: ServerProcess[] = await Promise.all(
      [1, 2, 3].map(() => startServer(dir.path, 'global-limit-server', [redis.url, '200', '100'])),
    );
    t.after(() => Promise.all(servers.map((s) => s.fixture.kill('SIGKILL'))));
    const registry = localRegistry({ dir: dir.path });
    const selector = registrySelector({ registry, strategy: 'roundRobin' });
    const client = createService({
      name: 'global-limit-client',
      registry,
      selector,
      logger: quietLogger(),
    });
    t.after(async () => {
      await client.stop();
      await selector.close();
      await registry.close();
    });
    // A call that waits on nothing must never hang: each has a 2 s budget, and one that used it
    // up would be counted under `other`.
    const call = (): Promise<unknown> =>
      client.client.call('limited', 'Echo.Call', {}, { timeoutMs: 2_000 });
    const modeLines = (mode: string): number[][] =>
      servers.map((s) =>
        s.fixture.lines
          .map((l) => new RegExp(`^mode ${mode} (\\d+)$`).exec(l))
          .filter((m) => m !== null)
          .map((m) => Number(m[1])),
      );

    const shared = await offer(10_000, call);
    t.diagnostic(`shared, 10 s: ${shared.ok} accepted, ${shared.limited} limited`);
    assert.deepEqual(shared.other, []);
    assert.deepEqual(modeLines('fallback'), [[], [], []], 'the store stayed up');
    assert.ok(
      shared.ok >= 1_800 && shared.ok <= 2_200,
      `accepted ${shared.ok}: within 10 % of 2,000`,
    );
    assert.ok(shared.limited > 0, 'more was offered than the limit');

    // The store dies while calls keep coming.
    const during = offer(3_000, call);
    await new Promise((r) => setTimeout(r, 500));
    const killedAt = Date.now();
    await redis.kill();
    const outage = await during;
    t.diagnostic(`outage, 3 s: ${outage.ok} accepted, ${outage.limited} limited`);
    assert.deepEqual(outage.other, [], 'no call failed otherwise, and none hung');
    const switched = modeLines('fallback').map((at) => at[0] - killedAt);
    t.diagnostic(`on the fallback after ${switched.join(', ')} ms`);
    for (const ms of switched) assert.ok(ms <= 1_000, `each instance fell back within 1 s (${ms})`);
    assert.ok(outage.ok > 0, 'the fallback admits calls');

    // The store is back (empty): every instance returns to the shared count.
    await redis.start();
    await Promise.all(servers.map((s) => s.fixture.waitForLine(/^mode shared \d+$/, 15_000)));
    const resumed = await offer(5_000, call);
    t.diagnostic(`resumed, 5 s: ${resumed.ok} accepted, ${resumed.limited} limited`);
    assert.deepEqual(resumed.other, []);
    assert.deepEqual(
      modeLines('fallback').map((at) => at.length),
      [1, 1, 1],
      'each instance fell back once, at the outage, and stayed on the shared count after',
    );
    // The shared count works in fixed one-second windows: 5 s of offered load spans 5 or 6 of
    // them (1,000 to 1,200 accepted, with 5 % slack below for the edges), where the three
    // fallbacks would admit 3 × 100/s, 1,500.
    assert.ok(
      resumed.ok >= 950 && resumed.ok <= 1_260,
      `accepted ${resumed.ok}: the shared 200/s again, not the fallbacks' 300/s`,
    );
  },
);

test(
  'client side: two callers with their own limiters send at most the shared rate together',
  { skip: redisSkipReason() },
  async (t) => {
    await using redis = await startRedisServer();
    await using dir = await makeTempDir('global-ratelimit-client-');
    const [server] = await Promise.all([
      startServer(dir.path, 'hedge-server', ['limited-echo', '0', 'ok']),
    ]);
    t.after(() => server.fixture.kill('SIGKILL'));
    const fellBack: number[] = [];
    const callers = [1, 2].map((i) => {
      const registry = localRegistry({ dir: dir.path });
      const limiter = globalRateLimiter({
        rate: 20,
        redis: redis.url,
        fallback: { rate: 20 },
        per: 'service',
        // Generous: a slow answer on a loaded machine must not divert calls to the fallback,
        // whose own 20/s would add to the shared count this test measures.
        storeTimeoutMs: 2_000,
        logger: quietLogger(),
        onModeChange: (mode) => {
          if (mode === 'fallback') fellBack.push(i);
        },
      });
      const service = createService({
        name: 'global-limit-caller',
        registry,
        logger: quietLogger(),
        wrapClient: [limiter.client],
      });
      return { registry, limiter, service };
    });
    t.after(async () => {
      for (const c of callers) {
        await c.service.stop();
        await c.limiter.close();
        await c.registry.close();
      }
    });
    await waitFor(
      () => callers.every((c) => c.limiter.mode() === 'shared'),
      10_000,
      () => 'both limiters connected',
    );
    let refused: MicroError | undefined;
    const startedAt = Date.now();
    let lastAcceptedAt = startedAt;
    const results = await Promise.all(
      callers.map((c, i) =>
        offer(2_000, () =>
          c.service.client.call('limited-echo', 'Echo.Call', { n: i }).then(
            () => void (lastAcceptedAt = Date.now()),
            (err: unknown) => {
              if (MicroError.is(err, 429)) refused ??= err;
              throw err;
            },
          ),
        ),
      ),
    );
    const ok = results.reduce((sum, r) => sum + r.ok, 0);
    // The count's one-second windows start with the first admission (after startedAt) and the
    // last admission came before the last accepted answer: a loaded machine that admits late
    // spills into one more window, which a bound of two would count as a fault.
    const windows = Math.floor((lastAcceptedAt - startedAt) / 1_000) + 1;
    t.diagnostic(`accepted ${results.map((r) => r.ok).join(' + ')} = ${ok} in ${windows} windows`);
    for (const r of results) assert.deepEqual(r.other, []);
    assert.deepEqual(fellBack, [], 'both limiters counted in the store throughout');
    // Two or more one-second windows of 20 each, shared (two limiters alone would allow twice
    // as many in each): at most 20 a window, and at least the two the 2 s of load fill.
    assert.ok(ok >= 36 && ok <= 20 * windows, `accepted ${ok}: the shared 20 in each window`);
    assert.ok(
      results.every((r) => r.ok > 0),
      'both callers got their turn',
    );
    assert.match(
      refused!.detail,
      /^global rate limit of 20\/s exceeded for limited-echo Echo\.Call: retry in \d+ ms$/,
    );
  },
);

test(
  'a store that stalls without disconnecting diverts calls to the fallback, then counts shared again',
  { skip: redisSkipReason() },
  async (t) => {
    await using redis = await startRedisServer();
    await using dir = await makeTempDir('global-ratelimit-stall-');
    const [server] = await Promise.all([
      startServer(dir.path, 'hedge-server', ['limited-echo', '0', 'ok']),
    ]);
    t.after(() => server.fixture.kill('SIGKILL'));
    const modes: string[] = [];
    const registry = localRegistry({ dir: dir.path });
    const limiter = globalRateLimiter({
      rate: 1_000,
      redis: redis.url,
      fallback: { rate: 1_000 },
      storeTimeoutMs: 200,
      logger: quietLogger(),
      onModeChange: (mode) => modes.push(mode),
    });
    const service = createService({
      name: 'global-limit-caller',
      registry,
      logger: quietLogger(),
      wrapClient: [limiter.client],
    });
    t.after(async () => {
      await service.stop();
      await limiter.close();
      await registry.close();
    });
    await waitFor(
      () => limiter.mode() === 'shared',
      10_000,
      () => 'limiter connected',
    );
    const admin = new Redis(redis.url);
    t.after(() => admin.disconnect());
    const counted = async (): Promise<number> => (await admin.keys('tsmicro:rl*')).length;
    const call = () => service.client.call('limited-echo', 'Echo.Call', { n: 1 });
    await call();
    assert.equal(await counted(), 1, 'the first call was counted in the store');

    // CLIENT PAUSE holds every other client's commands for 3 s on a connection that stays open:
    // the store neither answers within 200 ms nor closes, so no reconnect will ever say it is back.
    await admin.call('CLIENT', 'PAUSE', '3000', 'ALL');
    await call();
    assert.deepEqual(modes, ['fallback'], 'the stalled store diverted the call to the fallback');
    assert.equal(limiter.mode(), 'fallback');

    // Once the pause is over (and the limiter's pause before trying the store again), calls are
    // counted in the store again, on the same connection.
    await admin.call('CLIENT', 'UNPAUSE');
    await waitFor(
      async () => {
        await call();
        return limiter.mode() === 'shared';
      },
      15_000,
      () => `limiter back on the shared count (modes ${modes.join(', ')})`,
    );
    assert.deepEqual(modes, ['fallback', 'shared']);
    await admin.flushall();
    await call();
    assert.equal(await counted(), 1, 'the call after the stall was counted in the store');
  },
);

test('a global limiter refuses bad options, naming each', () => {
  const bad: [unknown, string][] = [
    [{ redis: 'redis://x', fallback: { rate: 1 } }, 'rate'],
    [{ rate: 1.5, redis: 'redis://x', fallback: { rate: 1 } }, 'rate'],
    [{ rate: 10, redis: 'http://x', fallback: { rate: 1 } }, 'redis'],
    [{ rate: 10, redis: 'redis://x' }, 'fallback'],
    [{ rate: 10, redis: 'redis://x', fallback: { rate: 0 } }, 'fallback.rate'],
    [{ rate: 10, redis: 'redis://x', fallback: { rate: 1 }, per: 'node' }, 'per'],
  ];
  for (const [opts, option] of bad)
    assert.throws(
      () => globalRateLimiter(opts as GlobalRateLimitOptions),
      (err: unknown) => err instanceof InvalidOptionError && err.option === option,
      JSON.stringify(opts),
    );
});
