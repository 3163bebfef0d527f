import { test } from 'node:test';
import assert from 'node:assert/strict';
import { context, SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { tracing } from '../../src/wrappers/tracing.js';
import { cluster } from '../helpers/services.js';
import { until } from './support.js';

/** An SDK provider recording into memory, and a way to wait for `n` finished spans. */
function recorder(): {
  provider: BasicTracerProvider;
  exporter: InMemorySpanExporter;
  finished(n: number): Promise<ReadableSpan[]>;
} {
  const exporter = new InMemorySpanExporter();
  let onEnd = (): void => {};
  const notify: SpanProcessor = {
    onStart() {},
    onEnd: () => onEnd(),
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter), notify],
  });
  return {
    provider,
    exporter,
    async finished(n) {
      await until(
        () => exporter.getFinishedSpans().length >= n,
        (check) => {
          onEnd = check;
        },
      );
      return exporter.getFinishedSpans();
    },
  };
}

/** Each span as `KIND name <- KIND parent`, sorted (start times are too coarse to order by). */
function chain(spans: readonly ReadableSpan[]): string[] {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  const label = (s: ReadableSpan): string => `${SpanKind[s.kind]} ${s.name}`;
  return spans
    .map((s) => {
      const parent = s.parentSpanContext ? byId.get(s.parentSpanContext.spanId) : undefined;
      return `${label(s)} <- ${parent ? label(parent) : s.parentSpanContext ? '?' : 'root'}`;
    })
    .sort();
}

/** a → b; b calls c and publishes; c's subscriber receives. Returns the spans of one trace. */
async function runScenario(
  rec: ReturnType<typeof recorder>,
  expectedSpans: number,
): Promise<ReadableSpan[]> {
  const c = cluster();
  const t = tracing({ tracerProvider: rec.provider });
  const wrappers = {
    wrapClient: [t.client],
    wrapCall: [t.call],
    wrapHandler: [t.handler],
    wrapSubscriber: [t.subscriber],
  };
  try {
    const cSvc = c.service({ name: 'c', ...wrappers });
    cSvc.handle('C', {
      async Store(req: { v: number }) {
        return { stored: req.v };
      },
    });
    cSvc.subscribe('stored', async () => {});
    const bSvc = c.service({ name: 'b', ...wrappers });
    bSvc.handle('B', {
      async Work(req: { v: number }) {
        const rsp = await bSvc.client.call<{ stored: number }>('c', 'C.Store', req);
        await bSvc.client.publish('stored', rsp);
        return rsp;
      },
    });
    await cSvc.start();
    await bSvc.start();
    const a = c.service({ name: 'a', ...wrappers });
    assert.deepEqual(await a.client.call('b', 'B.Work', { v: 7 }), { stored: 7 });
    return await rec.finished(expectedSpans);
  } finally {
    await c.stopAll();
  }
}

test('a trace started at the client runs call → attempt → handle → downstream call → publish → subscribe as one trace', async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  try {
    const rec = recorder();
    const spans = await runScenario(rec, 8);
    assert.equal(spans.length, 8);
    assert.equal(new Set(spans.map((s) => s.spanContext().traceId)).size, 1, 'one trace id');
    assert.deepEqual(
      chain(spans),
      [
        'CLIENT b.B.Work <- root',
        'CLIENT b.B.Work attempt <- CLIENT b.B.Work',
        'SERVER b.B.Work <- CLIENT b.B.Work attempt',
        'CLIENT c.C.Store <- SERVER b.B.Work',
        'CLIENT c.C.Store attempt <- CLIENT c.C.Store',
        'SERVER c.C.Store <- CLIENT c.C.Store attempt',
        'PRODUCER Pub to stored <- SERVER b.B.Work',
        'CONSUMER Sub from stored <- PRODUCER Pub to stored',
      ].sort(),
    );
  } finally {
    context.disable();
  }
});

test('without a context manager, calls made in a handler still join the trace, under the inbound attempt', async () => {
  const rec = recorder();
  const spans = await runScenario(rec, 8);
  assert.equal(new Set(spans.map((s) => s.spanContext().traceId)).size, 1, 'one trace id');
  assert.deepEqual(
    chain(spans),
    [
      'CLIENT b.B.Work <- root',
      'CLIENT b.B.Work attempt <- CLIENT b.B.Work',
      'SERVER b.B.Work <- CLIENT b.B.Work attempt',
      'CLIENT c.C.Store <- CLIENT b.B.Work attempt',
      'CLIENT c.C.Store attempt <- CLIENT c.C.Store',
      'SERVER c.C.Store <- CLIENT c.C.Store attempt',
      'PRODUCER Pub to stored <- CLIENT b.B.Work attempt',
      'CONSUMER Sub from stored <- PRODUCER Pub to stored',
    ].sort(),
  );
});

test('a failed call marks its spans with the error code', async () => {
  const rec = recorder();
  const c = cluster();
  const t = tracing({ tracerProvider: rec.provider });
  try {
    const s = c.service({ name: 'x', wrapHandler: [t.handler] });
    s.handle('X', {
      async Nope() {
        throw new Error('boom');
      },
    });
    await s.start();
    const a = c.service({ name: 'a', wrapClient: [t.client], wrapCall: [t.call], retries: 0 });
    await a.client.call('x', 'X.Nope', {}).catch(() => {});
    const spans = await rec.finished(3);
    assert.deepEqual(
      spans
        .map(
          (sp) =>
            `${SpanKind[sp.kind]} ${sp.name} status=${sp.status.code} code=${String(sp.attributes['micro.error_code'])}`,
        )
        .sort(),
      [
        'CLIENT x.X.Nope status=2 code=500',
        'CLIENT x.X.Nope attempt status=2 code=500',
        'SERVER x.X.Nope status=2 code=500',
      ].sort(),
    );
  } finally {
    await c.stopAll();
  }
});
