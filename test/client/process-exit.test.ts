// A program that only makes calls exits when its work is done; a started server keeps its
// process alive. Found by trying the README's client snippet: its call finished in 0.28 s, then
// the process stayed alive until 60 s, held by the native transport's idle pooled connection.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULTS } from '../../src/index.js';
import { startFixture, type Fixture } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/tmp.js';

/**
 * How long a finished client may take to exit. An idle pooled connection (gRPC channel or native
 * session) is closed `DEFAULTS.poolIdleMs` after its last call, which would let a program held by
 * it exit then; the bound sits well below that, so only a program that nothing holds exits
 * within it — however slow the machine, exiting takes nowhere near that long.
 */
const EXIT_BOUND_MS = DEFAULTS.poolIdleMs / 2;

/** Resolves with the exit code, or with 'still running' once `ms` have passed. */
function exitWithin(f: Fixture, ms: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    f.exited,
    new Promise<string>((resolve) => {
      timer = setTimeout(resolve, ms, 'still running');
    }),
  ]).finally(() => clearTimeout(timer));
}

const CASES: { kind: string; what: string }[] = [
  { kind: 'default', what: 'the default stack (local registry, dual-path transport)' },
  { kind: 'grpc', what: 'a gRPC-only transport' },
  { kind: 'native', what: 'a native-only transport' },
];

for (const { kind, what } of CASES) {
  test(`a client-only program on ${what} exits with 0 by itself once its call is answered, and the started server stays up`, async (t) => {
    await using dir = await makeTempDir('tsmicro-exit-');
    const env = { TSMICRO_REGISTRY_DIR: dir.path, TSMICRO_LOG_LEVEL: 'warn' };
    const name = `exit-${kind}`;
    await using server = startFixture('started-greeter', [kind, name], env);
    await server.waitForLine(/^ready /, 30_000);

    // The reply comes 500 ms after the request: while it is on its way only the call itself can
    // keep the client alive (it would otherwise exit 13, its top-level await unsettled).
    await using client = startFixture('client-only', [kind, name, '500'], env);
    await client.waitForLine(/^reply /, 30_000);
    const code = await exitWithin(client, EXIT_BOUND_MS);
    t.diagnostic(`client stdout: ${JSON.stringify(client.lines)}`);
    assert.equal(code, 0, `client exit: ${code}; stderr:\n${client.stderr()}`);
    assert.deepEqual(client.lines, ['reply {"msg":"Hello Ada"}']);

    // Nothing but its listeners holds the server process (it called start(), never run()).
    assert.equal(server.child.exitCode, null, `server exited; stderr:\n${server.stderr()}`);
    assert.equal(server.child.signalCode, null);
  });
}
