import assert from 'node:assert/strict';
import type { Registry, RegistryService as Service } from '../../src/index.js';

/** Helpers shared by the Consul and etcd suites (not a test file). */

/** Polls `cond` every 100 ms until it holds; throws after `timeoutMs`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

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
  const probe = (port: number): Service => ({ name, version: 'probe', endpoints: [], nodes: [{ id: `${name}-probe`, address: `127.0.0.1:${port}`, metadata: {} }] });
  for (let port = 6000; events.length === 0; port++) {
    assert.ok(port < 6050, 'the watch never reported the probe');
    await r.register(probe(port), { ttlMs: 30_000 });
    await waitFor(() => events.length > 0, 500, 'probe').catch(() => {});
  }
  await r.deregister(probe(0));
  await waitFor(() => events.some((e) => e.startsWith('delete probe')), 10_000, 'probe delete');
  events.length = 0;
}
