import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  grpcTransport,
  MicroError,
  nativeTransport,
  streaming,
  type Service,
  type Transport,
} from '../../src/index.js';
import { cluster } from '../helpers/services.js';

// Streams over real sockets between two services in this process, so both ends' resources can be
// counted: memory while 100,000 messages flow, and what 1,000 cancelled streams leave — on each
// transport that carries streams between processes.

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapMiB(): number {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

/** Handle and request counts by type, e.g. TCPSocketWrap, Http2Session timers excluded. */
function resources(): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo())
    if (r !== 'Timeout' && r !== 'Immediate') out.set(r, (out.get(r) ?? 0) + 1);
  return out;
}

const TRANSPORTS: [string, () => Transport][] = [
  ['grpc', () => grpcTransport()],
  ['native', () => nativeTransport()],
];

async function echoPair(makeTransport: () => Transport): Promise<{
  c: ReturnType<typeof cluster>;
  caller: Service;
  open: () => number;
  close: () => Promise<void>;
}> {
  const c = cluster();
  let open = 0;
  const transports = [makeTransport(), makeTransport()];
  const server = c.service({ name: 'echo', transport: transports[0] });
  server.handle('Echo', {
    Chat: streaming<{ i: number }, { i: number }>(async (s) => {
      open++;
      try {
        for await (const m of s) await s.send(m);
      } finally {
        open--;
      }
    }),
  });
  await server.start();
  return {
    c,
    caller: c.service({ name: 'caller', transport: transports[1] }),
    open: () => open,
    async close() {
      await c.stopAll();
      await Promise.all(transports.map((t) => t.close()));
    },
  };
}

for (const [name, makeTransport] of TRANSPORTS) {
  test(`${name}: a bidi stream of 100,000 small messages completes with flat memory (backpressure both ways)`, async (t) => {
    const { caller, close } = await echoPair(makeTransport);
    try {
      const stream = await caller.client.stream<{ i: number }, { i: number }>('echo', 'Echo.Chat');
      const total = 100_000;
      const samples: number[] = [];
      let received = 0;
      const reader = (async () => {
        for await (const m of stream) {
          assert.equal(m.i, received, 'in order');
          received++;
          if (received % 20_000 === 0) samples.push(heapMiB());
        }
      })();
      // The sender runs ahead of the reader only as far as the transport's windows allow.
      for (let i = 0; i < total; i++) await stream.send({ i });
      stream.closeSend();
      await reader;
      assert.equal(received, total);
      const growth = Math.max(...samples) - samples[0];
      t.diagnostic(
        `heap at every 20,000 messages (MiB): ${samples.map((s) => s.toFixed(1)).join(', ')}; growth ${growth.toFixed(1)} MiB`,
      );
      // Unbounded buffering of 100,000 messages would hold several MiB per 20,000; flat stays well
      // under.
      assert.ok(growth < 8, `heap grew ${growth.toFixed(1)} MiB while streaming`);
    } finally {
      await close();
    }
  });

  test(`${name}: 1,000 streams opened and cancelled leave no open handler, socket or channel behind`, async (t) => {
    const { caller, open, close } = await echoPair(makeTransport);
    try {
      // Warm up: one connection and one stream, so the baseline has the channel in it.
      const warm = await caller.client.stream<{ i: number }, { i: number }>('echo', 'Echo.Chat');
      await warm.send({ i: -1 });
      await warm.recv();
      warm.closeSend();
      assert.equal(await warm.recv(), undefined);
      const before = resources();
      const heapBefore = heapMiB();

      for (let i = 0; i < 1_000; i++) {
        const s = await caller.client.stream<{ i: number }, { i: number }>('echo', 'Echo.Chat');
        await s.send({ i });
        assert.equal((await s.recv())?.i, i);
        s.cancel();
        const after = await s.recv().then(
          () => 'ended',
          (e: unknown) => (MicroError.is(e) ? `error ${e.code}` : String(e)),
        );
        assert.ok(after === 'ended' || after.startsWith('error'), after);
      }
      const deadline = Date.now() + 10_000;
      while (open() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(open(), 0, 'every cancelled stream ended its handler');
      const after = resources();
      const heapAfter = heapMiB();
      t.diagnostic(
        `resources before ${JSON.stringify([...before])}, after ${JSON.stringify([...after])}; heap ${heapBefore.toFixed(1)} → ${heapAfter.toFixed(1)} MiB`,
      );
      for (const [kind, n] of after)
        assert.ok(
          n <= (before.get(kind) ?? 0),
          `${kind}: ${before.get(kind) ?? 0} before, ${n} after`,
        );
      assert.ok(heapAfter - heapBefore < 8, `heap grew ${(heapAfter - heapBefore).toFixed(1)} MiB`);
    } finally {
      await close();
    }
  });
}
