import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rename, rm } from 'node:fs/promises';
import { localRegistry, memoryRegistry, MicroError, registrySelector } from '../../src/index.js';
import { cluster } from '../helpers/services.js';
import { makeTempDir } from '../helpers/tmp.js';
import { recordingClient, startServer } from '../client/fleet.js';

/** Calls `fn` for `ms` (at most `max` times), returning how many succeeded and the first error. */
async function callFor(
  ms: number,
  max: number,
  fn: () => Promise<unknown>,
): Promise<{ calls: number; ok: number; firstError?: unknown }> {
  const end = Date.now() + ms;
  let calls = 0;
  let ok = 0;
  let firstError: unknown;
  while (Date.now() < end && calls < max) {
    calls++;
    try {
      await fn();
      ok++;
    } catch (err) {
      firstError ??= err;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return { calls, ok, firstError };
}

/**
 * Takes registry directory `dir` away in one step: renamed aside, then removed. Removing it in
 * place races the registry's own watchers, which recreate a service directory the moment it
 * vanishes (a watch outlives a tmp cleaner), so `rm -r` could find the root refilled between
 * emptying and removing it (ENOTEMPTY). The rename is atomic and is what "the directory is gone"
 * means to the registry; nothing writes into the renamed copy, so removing that cannot race.
 */
async function removeRegistryDir(dir: string): Promise<void> {
  const aside = `${dir}.gone`;
  await rename(dir, aside);
  await rm(aside, { recursive: true, force: true });
}

test('local registry directory removed: calls keep flowing to the last known node; once that node dies it is dropped', async (t) => {
  await using dir = await makeTempDir('resilience-gone-');
  const server = await startServer(dir.path, 'resilience-server', ['echo', '0', 'ok']);
  t.after(() => server.fixture.kill('SIGKILL'));
  // cacheTtlMs 0: every call also asks the registry, so both paths (lookup and watch) see the loss.
  await using client = recordingClient(dir.path, { cacheTtlMs: 0 });
  const call = (): Promise<unknown> => client.service.client.call('echo', 'Echo.Call', {});
  await call();

  // An independent watch proves the registry itself now reports the node gone.
  const observer = localRegistry({ dir: dir.path });
  const watcher = observer.watch({ service: 'echo' });
  await removeRegistryDir(dir.path);
  for await (const event of watcher) if (event.action === 'delete') break;
  assert.deepEqual(await observer.getService('echo'), [], 'the registry lists nothing');
  await observer.close();

  // Longer than the local registry's sweep (1 s), so the client's own watch has seen it too.
  const during = await callFor(1_500, 200, call);
  assert.equal(
    during.ok,
    during.calls,
    `every call succeeds from the cache (${String(during.firstError)})`,
  );
  assert.deepEqual(new Set(client.attempts.map((a) => a.node)), new Set([server.id]));

  // The node really dies: its one failed attempt drops it, then the service is not found.
  await server.fixture.kill('SIGKILL');
  await assert.rejects(
    call(),
    (err: unknown) => MicroError.is(err, 503) && err.fault !== undefined,
  );
  await assert.rejects(
    call(),
    (err: unknown) =>
      MicroError.is(err, 503) && err.fault === undefined && /not found/.test(err.detail),
  );
});

test('registry stopped (closed): lookups fail and calls are served from the cache', async () => {
  const c = cluster();
  try {
    const echo = c.service({ name: 'echo' });
    echo.handle('Echo', {
      async Call() {
        return { ok: true };
      },
    });
    await echo.start();
    // Its own registry, so closing it stops only the client's view, as a registry server going away
    // would.
    const registry = memoryRegistry();
    await registry.register({ ...(await c.registry.getService('echo'))[0] }, { ttlMs: 0 });
    const selector = registrySelector({ registry, cacheTtlMs: 20, cacheMinRefreshMs: 0 });
    const caller = c.service({ name: 'caller', selector });
    await caller.client.call('echo', 'Echo.Call', {});
    await registry.close();
    await assert.rejects(registry.getService('echo'), (err: unknown) => MicroError.is(err, 503));
    const during = await callFor(300, 30, () => caller.client.call('echo', 'Echo.Call', {}));
    assert.ok(during.calls >= 5, 'the cache entry expired several times meanwhile');
    assert.equal(
      during.ok,
      during.calls,
      `every call succeeds from the cache (${String(during.firstError)})`,
    );
    await selector.close();
  } finally {
    await c.stopAll();
  }
});
