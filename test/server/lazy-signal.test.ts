import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { MicroError, type HandlerContext, type Transport } from '../../src/index.js';
import { grpcTransport } from '../../src/transport/grpc/grpc.js';
import { nativeTransport } from '../../src/transport/native/native.js';
import { cluster } from '../helpers/services.js';

// Handler and call signals are made only when read (src/internal/lazy-abort.ts, deriveContext).
// These handlers read ctx.signal only after the deadline passed or the client cancelled, so the
// abort must have been kept for a signal that did not exist yet.

const c = cluster();
after(() => c.stopAll());

/**
 * Resolves when `signal` aborts, or with 'never' after `ms` (a lost abort fails the test, not hangs
 * it).
 */
function abortedWithin(signal: AbortSignal, ms: number): Promise<'aborted' | 'never'> {
  if (signal.aborted) return Promise.resolve('aborted');
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('never'), ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve('aborted');
      },
      { once: true },
    );
  });
}

const transports: [string, () => Transport][] = [
  ['native', () => nativeTransport()],
  ['grpc', () => grpcTransport()],
];

for (const [name, make] of transports) {
  test(`${name}: a handler that reads its signal after the deadline finds it aborted`, async () => {
    let seen: { aborted: boolean; late: 'aborted' | 'never' } | undefined;
    const server = c.service({ name: `late-${name}`, transport: make() });
    server.handle('Late', {
      async Read(_req: unknown, ctx: HandlerContext) {
        // Sleep past the deadline without touching the signal, then look.
        await new Promise((r) => setTimeout(r, Math.max(0, ctx.deadline - Date.now()) + 300));
        seen = { aborted: ctx.signal.aborted, late: await abortedWithin(ctx.signal, 10_000) };
        return {};
      },
    });
    await server.start();
    const client = c.service({ name: `late-client-${name}`, transport: make() });
    const err = await client.client
      .call(`late-${name}`, 'Late.Read', {}, { timeoutMs: 300, retries: 0 })
      .catch((e: unknown) => e);
    assert.ok(MicroError.is(err) && err.code === 408, `the caller gets a 408, got ${String(err)}`);
    for (let i = 0; i < 200 && !seen; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(seen, { aborted: true, late: 'aborted' });
  });

  test(`${name}: a handler that reads its signal after the client cancelled finds it aborted`, async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    let seen: 'aborted' | 'never' | undefined;
    const server = c.service({ name: `cancel-${name}`, transport: make() });
    server.handle('Cancel', {
      async Read(_req: unknown, ctx: HandlerContext) {
        await released;
        seen = await abortedWithin(ctx.signal, 10_000);
        return {};
      },
    });
    await server.start();
    const client = c.service({ name: `cancel-client-${name}`, transport: make() });
    const controller = new AbortController();
    const call = client.client
      .call(
        `cancel-${name}`,
        'Cancel.Read',
        {},
        { signal: controller.signal, timeoutMs: 30_000, retries: 0 },
      )
      .catch((e: unknown) => e);
    // Let the request reach the handler, cancel, then give the cancel time to arrive before the
    // handler first reads its signal.
    await new Promise((r) => setTimeout(r, 300));
    controller.abort();
    const err = await call;
    assert.ok(MicroError.is(err) && err.code === 408, `the caller gets a 408, got ${String(err)}`);
    await new Promise((r) => setTimeout(r, 300));
    release();
    for (let i = 0; i < 250 && !seen; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(seen, 'aborted');
  });
}
