import assert from 'node:assert/strict';
import { createService, localRegistry, type Registry, type Service } from '../../src/index.js';
import { startFixture, type Fixture } from '../helpers/processes.js';
import { quietLogger } from '../helpers/services.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';

/**
 * The processes the stream tests run against: the feed service (test/fixtures/stream-feed.ts)
 * and a gateway process in front of it (test/fixtures/stream-gateway.ts), on a local registry
 * of their own; and a tsmicro caller in the test process that asks the service how far it got.
 */
export interface StreamRig extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` of the gateway. */
  readonly base: string;
  readonly gateway: Fixture;
  readonly feed: Fixture;
  /** The feed service's counts (Feed.Stats). */
  stats(): Promise<FeedStats>;
  /** Zeroes the feed service's counts. */
  reset(): Promise<void>;
}

export interface FeedStats {
  sent: number;
  received: number;
  finished: number;
  cancelled: number;
}

/** Starts the rig; `origins` are the browser origins the gateway lets in. */
export async function startStreamRig(origins: readonly string[] = []): Promise<StreamRig> {
  const dir: TempDir = await makeTempDir('gw-streams-');
  const env = { TSMICRO_REGISTRY_DIR: dir.path, TSMICRO_LOG_LEVEL: 'silent' };
  const feed = startFixture('stream-feed', ['--serve'], env);
  const gateway = startFixture('stream-gateway', ['--serve'], {
    ...env,
    GATEWAY_SERVICES: 'feed',
    GATEWAY_ORIGINS: origins.join(','),
  });
  await feed.waitForLine(/^ready /, 30_000);
  const [, address] = await gateway.waitForLine(/^listening (\S+)$/, 30_000);
  const registry: Registry = localRegistry({ dir: dir.path });
  const caller: Service = createService({ name: 'stream-test', registry, logger: quietLogger() });
  return {
    base: `http://${address}`,
    gateway,
    feed,
    stats: () => caller.client.call<FeedStats>('feed', 'Feed.Stats', {}, { timeoutMs: 10_000 }),
    async reset() {
      await caller.client.call('feed', 'Feed.Reset', {}, { timeoutMs: 10_000 });
    },
    async [Symbol.asyncDispose]() {
      await caller.stop();
      await registry.close();
      await gateway.kill('SIGKILL');
      await feed.kill('SIGKILL');
      await dir[Symbol.asyncDispose]();
    },
  };
}

/** Polls without progress after which the service counts as held back. */
const STALLED = 40;

/**
 * Asks the service for its count until it stays put for {@link STALLED} asks in a row, and
 * returns where it stopped: more than none and at most `bound`, or the assertion says how far it
 * got. The asks are round trips to the service process; the pause between them only spares the
 * CPU (the verdict is the count, not a time).
 */
export async function heldAt(
  count: () => Promise<number>,
  bound: number,
  what: string,
): Promise<number> {
  let last = -1;
  let still = 0;
  for (let i = 0; i < 2_000 && still < STALLED; i++) {
    const now = await count();
    still = now === last ? still + 1 : 0;
    last = now;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.equal(still, STALLED, `${what}: the service never stopped (at ${last})`);
  assert.ok(last > 0, `${what}: the service sent nothing`);
  assert.ok(last <= bound, `${what}: the service ran ${last} messages ahead (bound ${bound})`);
  return last;
}
