import assert from 'node:assert/strict';
import type { Registry, RegistryService as Service, WatchEvent } from '../../src/plugin.js';
import { waitFor } from '../helpers/wait.js';

/** Helpers shared by the Consul and etcd suites (not a test file). */

export { waitFor };

/** The node ids `registry` returns for `name`, sorted. */
export async function nodeIds(registry: Registry, name: string): Promise<string[]> {
  return (await registry.getService(name)).flatMap((s) => s.nodes.map((n) => n.id)).sort();
}

/**
 * A watch reports the changes after its first read. Until a change is seen we cannot know it has
 * made that read, so: change a probe node until an event shows, then remove the probe and forget
 * its events. `events` is what the test's reader collected, as `<action> <version> ...` strings.
 */
export async function watchIsLive(r: Registry, name: string, events: string[]): Promise<void> {
  const probe = (port: number): Service => ({
    name,
    version: 'probe',
    endpoints: [],
    nodes: [{ id: `${name}-probe`, address: `127.0.0.1:${port}`, metadata: {} }],
  });
  for (let port = 6000; events.length === 0; port++) {
    assert.ok(port < 6050, 'the watch never reported the probe');
    await r.register(probe(port), { ttlMs: 30_000 });
    await waitFor(() => events.length > 0, 500, 'probe').catch(() => {});
  }
  await r.deregister(probe(0));
  await waitFor(() => events.some((e) => e.startsWith('delete probe')), 10_000, 'probe delete');
  events.length = 0;
}

/**
 * The watch scenario both real registries pass: `svc` (one node) is created, moved to
 * `movedAddress`, then deregistered; the watch reports exactly create, update, delete, and
 * ends promptly when stopped. Closes `r`.
 */
export async function assertWatchLifecycle(
  r: Registry,
  svc: Service,
  movedAddress: string,
): Promise<void> {
  const events: string[] = [];
  const w = r.watch({ service: svc.name });
  const node = svc.nodes[0];
  let ended = false;
  const reader = (async () => {
    for await (const e of w as AsyncIterable<WatchEvent>)
      events.push(
        `${e.action} ${e.service.version} ${e.service.nodes.map((n) => `${n.id}@${n.address}`).join(',')}`,
      );
    ended = true;
  })();
  try {
    await watchIsLive(r, svc.name, events);
    await r.register(svc, { ttlMs: 30_000 });
    await waitFor(() => events.length >= 1, 10_000, 'create');
    await r.register({ ...svc, nodes: [{ ...node, address: movedAddress }] }, { ttlMs: 30_000 });
    await waitFor(() => events.length >= 2, 10_000, 'update');
    await r.deregister(svc);
    await waitFor(() => events.length >= 3, 10_000, 'delete');
    assert.deepEqual(events, [
      `create ${svc.version} ${node.id}@${node.address}`,
      `update ${svc.version} ${node.id}@${movedAddress}`,
      `delete ${svc.version} ${node.id}@${movedAddress}`,
    ]);
    w.stop();
    await reader;
    assert.equal(ended, true);
  } finally {
    w.stop();
    await r.close();
  }
}
