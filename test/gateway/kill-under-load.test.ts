import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFleet } from './fleet.js';

// The promise for idempotent routes: one of two service nodes SIGKILLed while HTTP
// callers keep calling through the gateway; the gateway's client retries what the dead node
// dropped on the live one, so no caller sees a failure.
test('a service node SIGKILLed under load: the HTTP callers of an idempotent route see no failure', async () => {
  await using fleet = await startFleet();
  const total = 600;
  const workers = 8;
  const killAfter = 150;
  const stopAt = Date.now() + 60_000;
  let issued = 0;
  let done = 0;
  let killed = false;
  const byNode = new Map<string, number>();
  const failures: string[] = [];
  const worker = async () => {
    // Bounded in count (total) and in time (stopAt).
    while (issued < total && Date.now() < stopAt) {
      const n = issued++;
      try {
        const res = await fetch(`${fleet.url}/echo/Echo/Call`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ n }),
        });
        const body = (await res.json()) as { node?: string };
        if (res.status !== 200) failures.push(`${n}: ${res.status} ${JSON.stringify(body)}`);
        else byNode.set(body.node!, (byNode.get(body.node!) ?? 0) + 1);
      } catch (err) {
        failures.push(`${n}: ${(err as Error).message}`);
      }
      done++;
      if (done === killAfter && !killed) {
        killed = true;
        fleet.nodes[0].child.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  assert.ok(killed, 'node a was killed during the load');
  assert.deepEqual(failures, []);
  assert.equal(done, total, 'every call of the load was made');
  assert.ok((byNode.get('a') ?? 0) > 0, 'node a took calls before it died');
  assert.ok((byNode.get('b') ?? 0) > total - killAfter - workers, 'node b took the rest');
  assert.equal(await fleet.nodes[0].exited, 'SIGKILL');
});
