import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import {
  createService,
  memoryRegistry,
  MicroError,
  streaming,
  type ServiceOptions,
} from '../../src/index.js';
import { quietLogger } from '../helpers/services.js';

// What the server logs when a handler crashes, read from a real pino logger's output.

interface Line {
  level: number;
  msg: string;
  endpoint?: string;
  suppressed?: number;
  err?: { message: string; stack: string };
}

function capture(): { logger: ReturnType<typeof pino>; crashes: () => Line[] } {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Line);
      done();
    },
  });
  return {
    logger: pino({ level: 'error' }, sink),
    crashes: () => lines.filter((l) => l.msg.includes('crashed')),
  };
}

async function withServer(
  opts: Partial<ServiceOptions>,
  fn: (call: (endpoint: string) => Promise<unknown>) => Promise<void>,
): Promise<void> {
  const registry = memoryRegistry();
  await using server = createService({
    name: 'crashy',
    registry,
    drainDelayMs: 0,
    logger: quietLogger(),
    ...opts,
  });
  server.handle('Work', {
    async Explode() {
      return explodeDeep();
    },
    async Refuse() {
      throw new MicroError('crashy', 409, 'refused on purpose');
    },
  });
  await server.start();
  await using caller = createService({ name: 'caller', registry, logger: quietLogger() });
  await fn((endpoint) =>
    caller.client.call('crashy', endpoint, {}, { retries: 0 }).then(
      () => assert.fail('expected an error'),
      (err: unknown) => err,
    ),
  );
}

function explodeDeep(): never {
  throw new Error('kaboom');
}

test('a plain Error from a handler is answered 500 and logged once per window with its stack; the rest are counted', async () => {
  const { logger, crashes } = capture();
  await withServer({ logger, crashLog: { intervalMs: 100 } }, async (call) => {
    for (let i = 0; i < 5; i++) {
      const err = (await call('Work.Explode')) as MicroError;
      assert.deepEqual(err.toJSON(), {
        id: 'crashy',
        code: 500,
        detail: 'kaboom',
        status: 'Internal Server Error',
      });
    }
    // The window has certainly passed: the next crash is logged, with the count it held back.
    await new Promise((r) => setTimeout(r, 150));
    await call('Work.Explode');
  });
  const lines = crashes();
  assert.ok(lines.length >= 2, `the first and the last are logged, got ${lines.length}`);
  assert.equal(
    lines.reduce((n, l) => n + 1 + (l.suppressed ?? 0), 0),
    6,
    'every crash is either logged or counted in the next one logged',
  );
  for (const l of lines) {
    assert.equal(l.level, 50, 'error level');
    assert.equal(l.endpoint, 'Work.Explode');
    assert.equal(l.err?.message, 'kaboom');
    assert.match(l.err?.stack ?? '', /explodeDeep/, 'the stack names where it was thrown');
  }
});

test('a burst of crashes inside one window logs one line', async () => {
  const { logger, crashes } = capture();
  await withServer({ logger, crashLog: { intervalMs: 600_000 } }, async (call) => {
    for (let i = 0; i < 20; i++) await call('Work.Explode');
  });
  assert.equal(crashes().length, 1);
});

test('MicroErrors are answers, not crashes; stream handler crashes are logged too; crashLog: false logs none', async () => {
  const { logger, crashes } = capture();
  await withServer({ logger }, async (call) => {
    const refused = (await call('Work.Refuse')) as MicroError;
    assert.equal(refused.code, 409);
    assert.equal(crashes().length, 0);
  });
  const registry = memoryRegistry();
  {
    await using server = createService({
      name: 'streamy',
      registry,
      logger,
      drainDelayMs: 0,
    });
    server.handle('Work', {
      Stream: streaming(async () => {
        throw new TypeError('stream blew up');
      }),
    });
    await server.start();
    await using caller = createService({ name: 'caller', registry, logger: quietLogger() });
    const s = await caller.client.stream('streamy', 'Work.Stream');
    await assert.rejects(s.recv(), (err: MicroError) => err.code === 500);
  }
  assert.deepEqual(
    crashes().map((l) => [l.endpoint, l.err?.message]),
    [['Work.Stream', 'stream blew up']],
  );
  const silent = capture();
  await withServer({ logger: silent.logger, crashLog: false }, async (call) => {
    await call('Work.Explode');
  });
  assert.equal(silent.crashes().length, 0);
});
