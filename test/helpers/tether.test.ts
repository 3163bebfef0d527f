import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { natsSkipReason } from './nats.js';
import { startFixture } from './processes.js';
import { makeTempDir } from './tmp.js';
import { waitFor } from './wait.js';

// A test file the runner times out, or one that is SIGKILLed, runs no exit handler: what it
// started must still go, or it keeps serving (and stays registered) where later tests meet it.
// Here a parent started like a test file starts processes through the helpers and is SIGKILLed.

/** Whether `pid` runs: a zombie (exited, not yet reaped) does not. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

async function killParentAndWatch(env: Record<string, string>, withNats: boolean) {
  await using dir = await makeTempDir('tether-');
  const parent = startFixture('spawning-parent', withNats ? ['nats'] : [], {
    TSMICRO_REGISTRY_DIR: dir.path,
    ...env,
  });
  const m = await parent.waitForLine(/^pids (\d+) (\d+|-) (\d+)$/, 60_000);
  const pids = m
    .slice(1)
    .filter((p) => p !== '-')
    .map(Number);
  assert.equal(pids.length, withNats ? 3 : 2, m[0]);
  for (const pid of pids) assert.ok(running(pid), `${pid} runs before the parent is killed`);
  process.kill(parent.pid, 'SIGKILL');
  await parent.exited;
  // The guard looks every 200 ms; bounded generously for a loaded machine.
  await waitFor(
    () => pids.every((p) => !running(p)),
    30_000,
    () => `the parent's children to go; still running: ${pids.filter(running).join(', ')}`,
  );
}

const natsSkip = natsSkipReason();

test(
  'a fixture, a server binary and a Node grandchild die with the SIGKILLed parent that started them',
  { skip: natsSkip },
  () => killParentAndWatch({}, true),
);

test('without setpriv, the preloaded guard alone takes the Node children down', () =>
  killParentAndWatch({ TSMICRO_NO_SETPRIV: '1' }, false));
