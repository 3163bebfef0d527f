import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import {
  createService,
  grpcTransport,
  memoryRegistry,
  nativeTransport,
  type Transport,
} from '../../src/index.js';
import { jsonLines } from '../wrappers/support.js';

/** Starts a service on `transport` (the default when undefined); its start-up and node. */
async function startedWith(transport: Transport | undefined): Promise<{
  logged: Record<string, unknown>;
  metadata: Record<string, string>;
}> {
  const { stream, lines } = jsonLines();
  const s = createService({
    name: 'startup-log',
    registry: memoryRegistry(),
    logger: pino({ level: 'info' }, stream),
    ...(transport ? { transport } : {}),
  });
  try {
    await s.start();
    const metadata = { ...s.server.node!.metadata };
    await s.stop();
    const logged = lines.find((l) => l.msg === 'server started');
    assert.ok(logged, `no start-up line in ${JSON.stringify(lines)}`);
    return { logged, metadata };
  } finally {
    await s.stop();
  }
}

test('the start-up line names the transport really serving: dual-path by default, not grpc', async () => {
  const dual = await startedWith(undefined);
  assert.equal(dual.logged.transport, 'dual-path(grpc+native)');
  // What Go peers read from the registry still says grpc: only the log line tells the truth.
  assert.equal(dual.metadata.transport, 'grpc');
  assert.equal(dual.metadata.protocol, 'grpc');

  const grpc = await startedWith(grpcTransport());
  assert.equal(grpc.logged.transport, 'grpc');
  const native = await startedWith(nativeTransport());
  assert.equal(native.logged.transport, 'native');
});
