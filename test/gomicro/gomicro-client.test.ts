import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  createService,
  MicroError,
  remaining,
  type HandlerContext,
  type Service,
} from '../../src/index.js';
import { consulRegistry } from '../../src/registry/consul/consul.js';
import { gomicroSkipReason, runPeer } from '../helpers/gomicro.js';
import { skipReason, startConsul, type RealServer } from '../helpers/servers.js';

// A real go-micro v5 gRPC client (test/gomicro/peer) finds a tsmicro server through a real Consul
// and calls it with go-micro's JSON codec: this proves what a Go caller of a tsmicro service
// sees, field by field.
const skip = (await skipReason('consul')) || (await gomicroSkipReason());

/**
 * A go-micro timeout no tsmicro default resembles, so the handler's budget can only come from it.
 */
const GO_TIMEOUT_S = 1234;

describe('go-micro gRPC client → tsmicro server (real Consul)', { skip }, () => {
  let consul: RealServer;
  let service: Service;
  const call = (
    endpoint: string,
    body: unknown,
    extra: string[] = [],
  ): Promise<Record<string, unknown>[]> =>
    runPeer('call', [
      '--consul',
      consul.address,
      '--service',
      'ts.interop',
      '--endpoint',
      endpoint,
      '--body',
      JSON.stringify(body),
      ...extra,
    ]);

  before(async () => {
    consul = await startConsul();
    service = createService({
      name: 'ts.interop',
      version: '1.2.3',
      metadata: { team: 'interop' },
      registry: consulRegistry({ address: consul.address }),
      address: '127.0.0.1:0',
      handleSignals: false,
    });
    service.handle('Greeter', {
      async Hello(req: { name: string }, ctx: HandlerContext) {
        return { msg: `Hello ${req.name}`, metadata: ctx.metadata, budgetMs: remaining(ctx) };
      },
      async Fail(req: { why: string }) {
        throw new MicroError('ts.interop.fail', 409, `refused: ${req.why}`);
      },
    });
    await service.start();
  });
  after(async () => {
    await service?.stop();
    await consul?.[Symbol.asyncDispose]();
  });

  test('discovers the tsmicro node in Consul and calls it with the JSON codec', async () => {
    const lines = await call('Greeter.Hello', { name: 'gopher' }, ['--count', '3']);
    assert.equal(lines.length, 3);
    for (const line of lines) {
      assert.equal(line.ok, true, JSON.stringify(line));
      assert.equal((line.response as { msg: string }).msg, 'Hello gopher');
    }
  });

  test("metadata set with metadata.NewContext reaches the handler; go-micro's hop keys do not", async () => {
    const [line] = await call('Greeter.Hello', { name: 'md' }, [
      '--metadata',
      'x-request-id=req-42,Tenant=acme',
    ]);
    assert.equal(line?.ok, true, JSON.stringify(line));
    const md = (line.response as { metadata: Record<string, string> }).metadata;
    // gRPC lowercases keys on the wire; go-micro lowercases them before sending too.
    assert.equal(md['x-request-id'], 'req-42');
    assert.equal(md['tenant'], 'acme');
    assert.equal(md['timeout'], undefined, "go-micro's per-hop budget is not handler metadata");
    assert.equal(md['x-content-type'], undefined);
  });

  test("the Go client's timeout becomes the handler's deadline", async () => {
    const [line] = await call('Greeter.Hello', { name: 'budget' }, [
      '--timeout',
      `${GO_TIMEOUT_S}s`,
    ]);
    assert.equal(line?.ok, true, JSON.stringify(line));
    const budget = (line.response as { budgetMs: number }).budgetMs;
    // At most the Go budget; more than the Go budget minus 10 minutes, which no queueing here
    // reaches, and far above any tsmicro default — so it came from the Go client's `timeout`.
    assert.ok(budget <= GO_TIMEOUT_S * 1000, `budget ${budget}`);
    assert.ok(budget > GO_TIMEOUT_S * 1000 - 600_000, `budget ${budget}`);
  });

  test('a tsmicro MicroError reaches the Go client with the same id, code, detail and status', async () => {
    const [line] = await call('Greeter.Fail', { why: 'quota' });
    assert.deepEqual(line, {
      ok: false,
      error: { id: 'ts.interop.fail', code: 409, detail: 'refused: quota', status: 'Conflict' },
    });
  });

  test("go-micro's Debug.Health on a tsmicro node answers as a go-micro node does", async () => {
    const [line] = await call('Debug.Health', { service: 'ts.interop' });
    assert.deepEqual(line, { ok: true, response: { status: 'ok' } });
  });

  test('an unknown endpoint is a go-micro error too, not a transport failure', async () => {
    const [line] = await call('Greeter.Nope', {});
    assert.equal(line?.ok, false);
    const err = line.error as { code: number; detail: string };
    assert.equal(err.code, 404, JSON.stringify(line));
    assert.match(err.detail, /Greeter\.Nope/);
  });
});
