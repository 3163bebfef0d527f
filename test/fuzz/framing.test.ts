import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import fc from 'fast-check';
import { createService, localRegistry, type Registry, type Service } from '../../src/index.js';
import { quietLogger } from '../helpers/services.js';
import { fuzzBudget } from './budget.js';
import {
  frame,
  HEADER_NAME,
  microErrorOf,
  rawRequest,
  startTarget,
  type RawAnswer,
  type Target,
} from './raw-grpc.js';

// Hostile gRPC framing against a real server process: random paths, metadata and DATA bytes sent
// over raw HTTP/2. Every request must be answered (a status, or a reset for what HTTP/2 itself
// forbids) within 10 s, the process must stay up and keep serving, and its memory stay bounded.
let target: Target;
let registry: Registry;
let caller: Service;
let session: http2.ClientHttp2Session;
const outcomes = new Map<string, number>();

before(async () => {
  target = await startTarget();
  registry = localRegistry({ dir: target.dir.path });
  caller = createService({ name: 'fuzz-caller', registry, logger: quietLogger() });
});
after(async () => {
  session?.close();
  console.log(
    `framing outcomes: ${JSON.stringify(Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])))}`,
  );
  await caller.stop();
  await registry.close();
  await target[Symbol.asyncDispose]();
});

/** A session to the target, reopened when the server closed the last one (e.g. after a GOAWAY). */
function sessionFor(): http2.ClientHttp2Session {
  if (!session || session.closed || session.destroyed) {
    session = http2.connect(`http://${target.address}`);
    session.on('error', () => {
      /* the next request sees the session closed and reconnects */
    });
  }
  return session;
}

async function stats(): Promise<{ rss: number; heapUsed: number }> {
  return caller.client.call('fuzz-target', 'Fuzz.Stats', {}, { timeoutMs: 10_000 });
}

function classify(a: RawAnswer): string {
  if (a.httpStatus !== undefined && a.httpStatus !== 200) return `http:${a.httpStatus}`;
  if (a.grpcStatus === undefined)
    return `reset:${(a.reset ?? '').replace(/\d+/g, 'N').slice(0, 60)}`;
  if (a.grpcStatus === 0) return 'ok';
  const e = microErrorOf(a.grpcMessage);
  return e
    ? `micro:${e.code}`
    : `grpc:${a.grpcStatus}:${(a.grpcMessage ?? '').replace(/\d+/g, 'N').slice(0, 60)}`;
}

const validPaths = [
  '/fuzz-target.Greeter/Hello',
  '/Greeter/Hello',
  '/fuzz-target.Greeter/Echo',
  '/Greeter/Deep',
  '/x.Fuzz/Stats',
];
const pathArb = fc.oneof(
  fc.constantFrom(...validPaths),
  fc.constantFrom(
    '/',
    '//',
    '/a/b/c',
    '/Greeter/',
    '/.Greeter/Hello',
    '/Greeter.Hello',
    '/Greeter/Hello/',
    '/%00/%ff',
    '/ü.Grüß/Hallo',
  ),
  fc.string({ maxLength: 300 }).map((s) => `/${s}`),
  fc
    .tuple(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }))
    .map(([a, b]) => `/${a}/${b}`),
  fc.integer({ min: 1_000, max: 20_000 }).map((n) => `/${'S'.repeat(n)}/Hello`),
);

const headerKey = fc.oneof(
  fc.constantFrom(
    'timeout',
    'grpc-timeout',
    'x-content-type',
    'content-type',
    'grpc-encoding',
    'grpc-accept-encoding',
    'authorization',
    'x-auth-subject',
    'user-agent',
  ),
  fc.stringMatching(/^[a-z0-9_.-]{1,40}$/),
  fc
    .string({ minLength: 1, maxLength: 20 })
    .map((s) => s.toLowerCase())
    .filter((s) => HEADER_NAME.test(s)),
);
const headerValue = fc.oneof(
  fc.constantFrom(
    '-1',
    '-1S',
    '0',
    '0n',
    '1n',
    '99999999H',
    '18446744073709551616',
    'NaN',
    'Infinity',
    '1e309',
    'application/grpc+json',
    'application/grpc+proto',
    'application/grpc+bytes',
    'text/html',
    'gzip',
    'identity',
  ),
  fc.string({ maxLength: 100 }),
  fc.integer({ min: 1_000, max: 16_000 }).map((n) => 'v'.repeat(n)),
);
const headersArb = fc.dictionary(headerKey, headerValue, { maxKeys: 8 });

const json = fc.json({ maxDepth: 4 }).map((s) => Buffer.from(s));
const mutated = fc
  .tuple(json, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }))
  .map(([b, edits]) => {
    const copy = Buffer.from(b);
    for (const [at, v] of edits) if (copy.length > 0) copy[at % copy.length] = v;
    return copy;
  });
const payload = fc.oneof(
  json,
  mutated,
  fc.uint8Array({ maxLength: 2_000 }).map((u) => Buffer.from(u)),
  fc.constant(Buffer.from('{"name":"ok"}')),
);
const bodyArb = fc.oneof(
  payload.map((p) => frame(p)),
  payload.map((p) => frame(p, { compressed: true })),
  fc
    .tuple(payload, fc.integer({ min: 0, max: 0xffffffff }))
    .map(([p, length]) => frame(p, { length })),
  fc
    .array(payload, { minLength: 2, maxLength: 4 })
    .map((ps) => Buffer.concat(ps.map((p) => frame(p)))),
  fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)),
  fc.constant(Buffer.alloc(0)),
  fc.constant(frame(Buffer.alloc(0))),
  fc.constant(Buffer.alloc(4)),
);

test('random paths, metadata and frames always get an answer, and the server keeps serving', async () => {
  const before = await stats();
  const budget = fuzzBudget({ runs: 1_000, ms: 20_000 });
  await fc.assert(
    fc.asyncProperty(pathArb, headersArb, bodyArb, async (path, headers, body) => {
      const answer = await rawRequest(sessionFor(), path, headers, body);
      const kind = classify(answer);
      if (kind.startsWith('reset') && process.env.FUZZ_DEBUG)
        console.log(
          'RESET',
          kind,
          JSON.stringify({
            path: path.slice(0, 100),
            headers,
            body: body.subarray(0, 40).toString('hex'),
            len: body.length,
          }),
        );
      outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
      assert.ok(
        target.alive(),
        `the server exited after ${JSON.stringify({ path, headers }).slice(0, 300)}; stderr:\n${target.fixture.stderr()}`,
      );
      // A status from the dispatcher carries go-micro's error JSON; only grpc-js's own checks and
      // HTTP/2-level refusals may answer otherwise.
      if (
        answer.grpcStatus !== undefined &&
        answer.grpcStatus !== 0 &&
        !microErrorOf(answer.grpcMessage)
      ) {
        assert.ok(
          GRPC_JS_OWN.some((re) => re.test(answer.grpcMessage ?? '')),
          `untyped status ${answer.grpcStatus} ${JSON.stringify(answer.grpcMessage)} for ${JSON.stringify({ path, headers }).slice(0, 300)}`,
        );
      }
    }),
    { numRuns: budget.runs, interruptAfterTimeLimit: budget.ms, markInterruptAsFailure: false },
  );
  // Still serving, and memory bounded.
  assert.deepEqual(
    await caller.client.call('fuzz-target', 'Greeter.Hello', { name: 'still here' }),
    { msg: 'Hello still here' },
  );
  const afterStats = await stats();
  assert.ok(
    afterStats.rss - before.rss < 200 * 2 ** 20,
    `rss grew from ${before.rss} to ${afterStats.rss}`,
  );
});

/**
 * Statuses grpc-js answers itself, before tsmicro's code sees the request: a unary call without
 * exactly one message, and compression it cannot undo. A tsmicro client still turns them into
 * MicroErrors (by status code); any other text without go-micro JSON fails the suite.
 */
const GRPC_JS_OWN: RegExp[] = [
  /^Received no request message for server streaming method /,
  /^Received a second request message for server streaming method /,
  /^Failed to decompress message/,
  /^Received message compressed with unsupported encoding /,
  /^Received message larger than max /,
  /^Invalid grpc-timeout value /,
];
