import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createService, MicroError, type Client, type Registry } from '../../src/index.js';
import { startFixture, type Fixture } from '../helpers/processes.js';
import type { RealServer } from '../helpers/servers.js';
import { quietLogger } from '../helpers/services.js';
import { nodeIds, waitFor } from './real-registry.js';

/**
 * The server-lifecycle scenarios every real registry must pass, against its real server (not a
 * test file: consul/lifecycle.test.ts and etcd/lifecycle.test.ts run it). Servers are child
 * processes (test/fixtures/lifecycle-server.ts); the registry server is the suite's own instance.
 */
export interface RegistryKit {
  kind: 'consul' | 'etcd';
  /** Why the suite cannot run here, or false. */
  skip: string | false;
  start(): Promise<RealServer>;
  registry(address: string): Registry;
}

const READY = /^ready (\S+) (\S+)$/;
/** Bounds of every load loop: it stops at whichever comes first. */
const MAX_CALLS = 50_000;
const MAX_LOAD_MS = 90_000;

export function lifecycleScenarios(kit: RegistryKit): void {
  describe(`${kit.kind}: server lifecycle against a real ${kit.kind}`, { skip: kit.skip }, () => {
    test('a SIGKILLed server stops being returned after its TTL; its live sibling stays', async () => {
      await using reg = await kit.start();
      const r = kit.registry(reg.address);
      try {
        await using a = server(kit, reg, 'killed', 3_000, 1_000);
        await using b = server(kit, reg, 'killed', 3_000, 1_000);
        const idA = (await a.waitForLine(READY))[1];
        const idB = (await b.waitForLine(READY))[1];
        await waitFor(
          async () => (await nodeIds(r, 'killed')).length === 2,
          10_000,
          'both nodes listed',
        );
        await a.kill('SIGKILL');
        await waitFor(
          async () => {
            const ids = await nodeIds(r, 'killed');
            assert.ok(
              ids.includes(idB),
              `the live node ${idB} must stay listed, got ${ids.join(',')}`,
            );
            return !ids.includes(idA);
          },
          30_000,
          `the killed node ${idA} to expire`,
        );
      } finally {
        await r.close();
      }
    });

    test('graceful stop under load loses zero calls (no retries): deregister, drain, then close', async (t) => {
      await using reg = await kit.start();
      await using a = server(kit, reg, 'drained', 10_000, 2_000);
      await using b = server(kit, reg, 'drained', 10_000, 2_000);
      const idA = (await a.waitForLine(READY))[1];
      const idB = (await b.waitForLine(READY))[1];
      await using caller = createService({
        name: 'caller',
        registry: kit.registry(reg.address),
        logger: quietLogger(),
      });
      const load = startLoad(caller.client, 'drained', { retries: 0, delayMs: 20 });
      try {
        await waitFor(
          () => (load.byNode.get(idA) ?? 0) >= 20 && (load.byNode.get(idB) ?? 0) >= 20,
          30_000,
          'calls on both nodes',
        );
        const stopAt = Date.now();
        const callsBefore = load.ok;
        await a.kill('SIGTERM');
        const stopMs = Date.now() - stopAt;
        const duringStop = load.ok - callsBefore;
        const servedByA = Number((await a.waitForLine(/^stopped (\d+)$/))[1]);
        const afterExit = load.ok;
        await waitFor(() => load.ok >= afterExit + 100, 30_000, 'calls after the stop');
        await load.stop();
        assert.deepEqual(load.errors, [], 'no call failed');
        // Every call the stopped server answered reached its caller: none was cut off.
        assert.equal(load.byNode.get(idA), servedByA);
        t.diagnostic(
          `${kit.kind}: stop took ${stopMs} ms with ${duringStop} calls completed meanwhile; ${load.ok} calls, 0 failed; A answered ${servedByA}`,
        );
      } finally {
        await load.stop();
      }
    });

    test('the registry server restarted empty mid-run: servers re-register by themselves, clients keep calling', async (t) => {
      await using reg = await kit.start();
      await using s = server(kit, reg, 'survivor', 3_000, 500);
      const id = (await s.waitForLine(READY))[1];
      await using caller = createService({
        name: 'caller',
        registry: kit.registry(reg.address),
        logger: quietLogger(),
      });
      const load = startLoad(caller.client, 'survivor', { delayMs: 5 });
      try {
        await waitFor(() => load.ok >= 20, 30_000, 'calls before the outage');
        await reg.kill();
        await reg.wipe(); // etcd: the new cluster has forgotten everything (Consul dev mode always does)
        const atOutage = load.ok;
        await waitFor(() => load.ok >= atOutage + 20, 30_000, 'calls while the registry is down');
        await reg.start();
        const fresh = kit.registry(reg.address);
        try {
          await waitFor(
            async () => (await nodeIds(fresh, 'survivor').catch((): string[] => [])).includes(id),
            30_000,
            're-registration',
          );
        } finally {
          await fresh.close();
        }
        const atReturn = load.ok;
        await waitFor(() => load.ok >= atReturn + 20, 30_000, 'calls after the restart');
        await load.stop();
        assert.deepEqual(load.errors, [], 'no call failed');
        t.diagnostic(`${kit.kind}: ${load.ok} calls across the registry restart, 0 failed`);
      } finally {
        await load.stop();
      }
    });

    test('registry unreachable at start: a clear 503 error after the retries, or serve and register once it is back', async (t) => {
      await using reg = await kit.start();
      await reg.kill();
      const r1 = kit.registry(reg.address);
      const r2 = kit.registry(reg.address);
      const r = kit.registry(reg.address);
      try {
        const strict = createService({
          name: 'early',
          registry: r1,
          logger: quietLogger(),
          registerAttempts: 2,
          registerTtlMs: 3_000,
          registerIntervalMs: 500,
        });
        const t0 = Date.now();
        await assert.rejects(
          strict.start(),
          (err: Error) => /failed to start/.test(err.message) && MicroError.is(err.cause, 503),
        );
        t.diagnostic(`${kit.kind}: start failed after ${Date.now() - t0} ms (2 attempts)`);
        await strict.stop();

        await using lenient = createService({
          name: 'early',
          registry: r2,
          logger: quietLogger(),
          registerAttempts: 1,
          requireRegistration: false,
          registerTtlMs: 3_000,
          registerIntervalMs: 500,
        });
        await lenient.start();
        const id = lenient.server.node!.id;
        await reg.start();
        await waitFor(
          async () => (await nodeIds(r, 'early').catch((): string[] => [])).includes(id),
          30_000,
          'registration once the registry is back',
        );
      } finally {
        await Promise.all([r.close(), r1.close(), r2.close()]);
      }
    });
  });
}

function server(
  kit: RegistryKit,
  reg: RealServer,
  name: string,
  ttlMs: number,
  intervalMs: number,
): Fixture {
  return startFixture('lifecycle-server', [
    kit.kind,
    reg.address,
    name,
    String(ttlMs),
    String(intervalMs),
  ]);
}

interface Load {
  ok: number;
  errors: string[];
  byNode: Map<string, number>;
  stop(): Promise<void>;
}

/** Four callers calling `service` back to back, bounded in count and time. */
function startLoad(
  client: Client,
  service: string,
  o: { retries?: number; delayMs: number },
): Load {
  const started = Date.now();
  let stopped = false;
  const load: Load = {
    ok: 0,
    errors: [],
    byNode: new Map(),
    stop: async () => {
      stopped = true;
      await Promise.all(workers);
    },
  };
  const worker = async (): Promise<void> => {
    while (
      !stopped &&
      load.ok + load.errors.length < MAX_CALLS &&
      Date.now() - started < MAX_LOAD_MS
    ) {
      try {
        const rsp = await client.call<{ node: string }>(
          service,
          'Echo.Hello',
          { delayMs: o.delayMs },
          { timeoutMs: 5_000, ...(o.retries !== undefined ? { retries: o.retries } : {}) },
        );
        load.ok++;
        load.byNode.set(rsp.node, (load.byNode.get(rsp.node) ?? 0) + 1);
      } catch (err) {
        load.errors.push(MicroError.is(err) ? `${err.code} ${err.detail}` : String(err));
      }
    }
  };
  const workers = [worker(), worker(), worker(), worker()];
  return load;
}
