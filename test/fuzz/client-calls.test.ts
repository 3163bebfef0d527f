import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  bytesCodec,
  createService,
  InvalidOptionError,
  jsonCodec,
  localRegistry,
  MicroError,
  type CallOptions,
  type Registry,
  type Service,
} from '../../src/index.js';
import { quietLogger } from '../helpers/services.js';
import { fuzzBudget } from './budget.js';
import { startTarget, type Target } from './raw-grpc.js';

// Bad input through tsmicro's own client against a real server process: odd service and endpoint
// names, metadata, bodies of any JSON shape or size, and absurd deadlines. Every call either
// succeeds or fails with a MicroError (an InvalidOptionError for options the client refuses up
// front), within a bounded time; the server keeps serving with bounded memory.
let target: Target;
let registry: Registry;
let caller: Service;
const outcomes = new Map<string, number>();

before(async () => {
  target = await startTarget();
  registry = localRegistry({ dir: target.dir.path });
  caller = createService({
    name: 'fuzz-caller',
    registry,
    logger: quietLogger(),
    codecs: [jsonCodec(), bytesCodec()],
  });
});
after(async () => {
  console.log(
    `client outcomes: ${JSON.stringify(Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])))}`,
  );
  await caller.stop();
  await registry.close();
  await target[Symbol.asyncDispose]();
});

/** Settles `p` into an outcome label; fails the property on anything untyped or on a hang. */
async function outcome(p: () => Promise<unknown>, what: () => string): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within 20 s: ${what()}`)), 20_000);
  });
  try {
    await Promise.race([Promise.resolve().then(p), hang]);
    return 'ok';
  } catch (err) {
    if (err instanceof InvalidOptionError) return `option:${err.option}`;
    assert.ok(MicroError.is(err), `not a MicroError (${String(err)}) for ${what()}`);
    assert.ok(
      err.code >= 400 && err.code < 600 && err.id !== '' && err.status !== '',
      `odd MicroError ${JSON.stringify(err.toJSON())} for ${what()}`,
    );
    return `micro:${err.code}`;
  } finally {
    clearTimeout(timer);
  }
}

function count(label: string): void {
  outcomes.set(label, (outcomes.get(label) ?? 0) + 1);
}

async function rss(): Promise<number> {
  return (
    await caller.client.call<{ rss: number }>('fuzz-target', 'Fuzz.Stats', {}, { timeout: 10_000 })
  ).rss;
}

const absurdNumber = fc.oneof(
  fc.constantFrom(
    -1,
    -0,
    0,
    0.5,
    1,
    NaN,
    Infinity,
    -Infinity,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_VALUE,
    1e300,
    2 ** 31,
    2 ** 53 + 1,
  ),
  fc.double(),
  fc.integer({ min: 1, max: 2_000 }),
);
const metadataArb = fc.dictionary(
  fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.constantFrom(
      'timeout',
      'grpc-timeout',
      'x-content-type',
      'content-type',
      ':path',
      'authorization',
      'x-auth-subject',
      'te',
      'Host',
      'X-Upper',
    ),
  ),
  fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.constantFrom('-1', '1e309', '\u0000', '\r\n', 'ü', '𝄞'),
    fc.integer({ min: 1, max: 9_000 }).map((n) => 'm'.repeat(n)),
  ),
  { maxKeys: 6 },
);
const optionsArb: fc.Arbitrary<CallOptions> = fc.record(
  {
    timeout: absurdNumber,
    retries: fc.oneof(fc.constantFrom(-1, 0, 1, 2, 1.5, 1_000_000), fc.integer({ min: 0, max: 3 })),
    attemptTimeout: absurdNumber,
    metadata: metadataArb,
    idempotent: fc.boolean(),
  },
  { requiredKeys: [] },
);

test('odd names, metadata and deadlines: a result or a typed error, every time', async () => {
  const names = fc.oneof(
    fc.constant('fuzz-target'),
    fc.string({ maxLength: 40 }),
    fc.constantFrom('', ' ', '/', '..', 'fuzz-target/', 'fuzz-target.Greeter', '\u0000'),
  );
  const endpoints = fc.oneof(
    fc.constantFrom(
      'Greeter.Hello',
      'Greeter.Echo',
      'Greeter.Deep',
      'Fuzz.Stats',
      'Greeter',
      'Greeter.',
      '.Hello',
      'a.b.c',
      '/Greeter/Hello',
      '//',
      'Greeter.Hello/x',
      'Grüße.Hallo',
    ),
    fc.string({ maxLength: 60 }),
  );
  const budget = fuzzBudget({ runs: 400, ms: 15_000 });
  await fc.assert(
    fc.asyncProperty(
      names,
      endpoints,
      optionsArb,
      fc.jsonValue({ maxDepth: 3 }),
      async (service, endpoint, opts, body) => {
        const label = await outcome(
          () =>
            caller.client.call(service, endpoint, body, {
              ...opts,
              timeout: Math.min(opts.timeout ?? 2_000, 5_000) || opts.timeout,
            }),
          () => JSON.stringify({ service, endpoint, opts }).slice(0, 400),
        );
        count(label);
        assert.ok(target.alive(), `the server exited; stderr:\n${target.fixture.stderr()}`);
      },
    ),
    { numRuns: budget.runs, interruptAfterTimeLimit: budget.ms, markInterruptAsFailure: false },
  );
});

test('absurd deadlines straight from the caller: typed, never a hang or a crash', async () => {
  // Found by this suite: past grpc-timeout's ~11,000-year ceiling grpc-js threw inside the call,
  // which then never settled. A deadline that far away is no deadline.
  for (const timeout of [1e300, Number.MAX_VALUE, 4e14]) {
    assert.deepEqual(
      await caller.client.call('fuzz-target', 'Greeter.Hello', { name: 'far' }, { timeout }),
      { msg: 'Hello far' },
    );
  }
  const budget = fuzzBudget({ runs: 120, ms: 15_000 });
  await fc.assert(
    fc.asyncProperty(absurdNumber, absurdNumber, async (timeout, attemptTimeout) => {
      // Only deadlines long enough to finish are let through unbounded; the rest are the point.
      const t = Number.isFinite(timeout) && timeout > 10_000 && timeout < 1e15 ? 10_000 : timeout;
      const started = Date.now();
      const label = await outcome(
        () =>
          caller.client.call(
            'fuzz-target',
            'Greeter.Hello',
            { name: 'x' },
            { timeout: t, attemptTimeout },
          ),
        () => JSON.stringify({ timeout, attemptTimeout }),
      );
      if (process.env.FUZZ_DEBUG)
        console.log('deadline', JSON.stringify({ t, attemptTimeout }), label, Date.now() - started);
      count(`deadline ${label}`);
      if (label.startsWith('option:'))
        assert.ok(
          !(Number.isFinite(t) && t >= 0 && Number.isFinite(attemptTimeout) && attemptTimeout >= 0),
          `a valid deadline was refused: ${JSON.stringify({ t, attemptTimeout })}`,
        );
    }),
    { numRuns: budget.runs, interruptAfterTimeLimit: budget.ms, markInterruptAsFailure: false },
  );
});

test('bodies of every JSON shape, mutated bytes and odd sizes: the server answers and survives', async () => {
  const before = await rss();
  const budget = fuzzBudget({ runs: 400, ms: 15_000 });
  const bodies = fc.oneof(
    fc.jsonValue({ maxDepth: 6 }).map((v) => ({ kind: 'json', value: v })),
    fc.uint8Array({ maxLength: 4_000 }).map((u) => ({ kind: 'bytes', value: u })),
    fc.json({ maxDepth: 4 }).chain((s) =>
      fc
        .array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 })
        .map((edits) => {
          const b = Buffer.from(s);
          for (const [at, v] of edits) if (b.length) b[at % b.length] = v;
          return { kind: 'bytes', value: new Uint8Array(b) };
        }),
    ),
    fc.integer({ min: 1, max: 200_000 }).map((n) => ({
      kind: 'json',
      value: JSON.parse(
        '['.repeat(Math.min(n, 50_000)) + ']'.repeat(Math.min(n, 50_000)),
      ) as unknown,
    })),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('Greeter.Hello', 'Greeter.Deep'),
      bodies,
      async (endpoint, body) => {
        // Raw bytes go out with the bytes codec but claim to be JSON on the wire: the server
        // decodes them as JSON.
        const label = await outcome(
          () =>
            caller.client.call(
              'fuzz-target',
              endpoint,
              body.value,
              body.kind === 'bytes' ? { contentType: 'bytes' } : {},
            ),
          () => `${endpoint} ${body.kind}`,
        );
        count(`body ${label}`);
        assert.ok(target.alive(), `the server exited; stderr:\n${target.fixture.stderr()}`);
      },
    ),
    { numRuns: budget.runs, interruptAfterTimeLimit: budget.ms, markInterruptAsFailure: false },
  );
  assert.ok((await rss()) - before < 200 * 2 ** 20, 'rss bounded');
});

test('huge and empty messages: 413 past the limit, both directions; empty is a valid message', async () => {
  const limit = 4 * 2 ** 20;
  const over = await outcome(
    () => caller.client.call('fuzz-target', 'Greeter.Hello', { name: 'x'.repeat(limit) }),
    () => 'over the limit',
  );
  assert.equal(over, 'micro:413');
  // A request under the limit whose echo is over it: the server's send check answers 413 too.
  const echoOver = await outcome(
    () => caller.client.call('fuzz-target', 'Greeter.Deep', 'y'.repeat(limit - 64)),
    () => 'echo over the limit',
  );
  assert.match(echoOver, /^(ok|micro:413)$/);
  assert.equal(
    await outcome(
      () =>
        caller.client.call('fuzz-target', 'Greeter.Hello', new Uint8Array(0), {
          contentType: 'bytes',
        }),
      () => 'empty',
    ),
    'micro:400',
  );
  // Many huge ones in a row do not exhaust the server.
  for (let i = 0; i < 10; i++)
    assert.equal(
      await outcome(
        () => caller.client.call('fuzz-target', 'Greeter.Hello', { name: 'z'.repeat(limit) }),
        () => 'huge',
      ),
      'micro:413',
    );
  assert.deepEqual(await caller.client.call('fuzz-target', 'Greeter.Hello', { name: 'after' }), {
    msg: 'Hello after',
  });
});

test('streams: random message sequences echo back or fail typed', async () => {
  const budget = fuzzBudget({ runs: 60, ms: 15_000 });
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 20 }),
      fc.boolean(),
      async (messages, cancel) => {
        const label = await outcome(
          async () => {
            const stream = await caller.client.stream('fuzz-target', 'Greeter.Echo', {
              timeout: 10_000,
            });
            const got: unknown[] = [];
            const reading = (async () => {
              for await (const m of stream) got.push(m);
            })();
            for (const m of messages) await stream.send(m);
            if (cancel) stream.cancel();
            else stream.closeSend();
            await reading;
            if (!cancel)
              assert.deepEqual(
                got,
                messages.map((m) => JSON.parse(JSON.stringify(m ?? null)) as unknown),
              );
          },
          () => `stream of ${messages.length}`,
        );
        count(`stream ${label}`);
      },
    ),
    { numRuns: budget.runs, interruptAfterTimeLimit: budget.ms, markInterruptAsFailure: false },
  );
  assert.deepEqual(
    await caller.client.call('fuzz-target', 'Greeter.Hello', { name: 'after streams' }),
    { msg: 'Hello after streams' },
  );
});
