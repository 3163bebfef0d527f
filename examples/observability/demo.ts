// `node demo.js`: two services in one process with the standard wrappers: a `greeter` guarded by
// a rate limit and a bulkhead, a caller with a circuit breaker — both traced, logged and measured.
// Prints the reply, the trace (one trace id across both services), and lines scraped from the
// metrics endpoint. Uses an in-process registry, so it needs nothing running.
import { once } from 'node:events';
import { createServer } from 'node:http';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { createService, memoryBroker, memoryRegistry, MicroError } from 'tsmicro';
import { circuitBreaker } from 'tsmicro/wrappers/breaker';
import { bulkhead } from 'tsmicro/wrappers/bulkhead';
import { requestLogging } from 'tsmicro/wrappers/logging';
import { prometheusMetrics } from 'tsmicro/wrappers/metrics';
import { rateLimiter } from 'tsmicro/wrappers/ratelimit';
import { tracing } from 'tsmicro/wrappers/tracing';

// OpenTelemetry: a context manager (so calls made inside a handler become its children) and a
// provider; a real deployment would export to a collector instead of memory.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const spans = new InMemorySpanExporter();
const traces = tracing({
  tracerProvider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
});

const metrics = prometheusMetrics({ version: '1.0.0' });
const logs = requestLogging({
  logger: pino({ level: process.env.TSMICRO_LOG_LEVEL ?? 'warn' }, pino.destination(2)),
  redact: ['authorization'],
});
const breakers = circuitBreaker({ onStateChange: metrics.breakerState });
const registry = memoryRegistry();
const broker = memoryBroker();
const quiet = pino({ level: 'warn' }, pino.destination(2));

// Wrapper order: the first listed is outermost. Tracing first, so its span covers everything.
const greeter = createService({
  name: 'greeter',
  version: '1.0.0',
  registry,
  broker,
  logger: quiet,
  wrapHandler: [
    traces.handler,
    metrics.handler,
    logs.handler,
    rateLimiter({ rate: 100 }).handler,
    bulkhead({ maxConcurrent: 8 }).handler,
  ],
});
greeter.handle('Greeter', {
  async Hello(req: { name: string }) {
    if (!req.name) throw MicroError.badRequest('greeter', 'name is required');
    return { msg: `Hello ${req.name}` };
  },
});

const caller = createService({
  name: 'caller',
  registry,
  broker,
  logger: quiet,
  wrapClient: [traces.client, metrics.client, breakers.client],
  wrapCall: [traces.call, metrics.call, logs.call],
});

const http = createServer(metrics.metricsHandler());
try {
  await greeter.start();
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const { port } = http.address() as { port: number };
  console.log(`[metrics] serving on http://127.0.0.1:${port}/metrics`);

  const rsp = await caller.client.call<{ msg: string }>(
    'greeter',
    'Greeter.Hello',
    { name: process.argv[2] ?? 'Ada' },
    { metadata: { authorization: 'Bearer demo' } },
  );
  console.log(`[call] ${rsp.msg}`);
  await caller.client
    .call('greeter', 'Greeter.Hello', { name: '' })
    .catch((err: unknown) => console.log(`[call] error ${String(err)}`));

  const finished = spans.getFinishedSpans();
  for (const s of finished) console.log(`[trace] ${s.spanContext().traceId} ${s.name}`);

  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  for (const line of text.split('\n'))
    if (/^(micro_request_total|tsmicro_client_request_total)\{/.test(line))
      console.log(`[metrics] ${line}`);
} finally {
  http.close();
  breakers.close();
  await caller.stop();
  await greeter.stop();
  await registry.close();
}
