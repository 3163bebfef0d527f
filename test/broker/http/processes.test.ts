import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MicroError, createService, type Service } from '../../../src/index.js';
import { startFixture, type Fixture } from '../../helpers/processes.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

// Three processes on the defaults, nothing about brokers or registries in code: this test process
// publishes, two broker-http-subscriber processes subscribe. They find each other through the
// local registry (a temporary directory, so nothing else on the host joins in).

const WAIT_MS = 30_000;

const ids = (f: Fixture, topic: string): number[] =>
  f.lines.filter((l) => l.startsWith(`got ${topic} `)).map((l) => Number(l.split(' ')[2]));

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

const sorted = (list: number[]): number[] => [...list].sort((x, y) => x - y);

async function setup(): Promise<{
  subs: [Fixture, Fixture];
  publisher: Service;
  [Symbol.asyncDispose](): Promise<void>;
}> {
  const dir = await makeTempDir('broker-http-');
  // The default registry reads its directory from the environment, as the fixtures' does.
  process.env.TSMICRO_REGISTRY_DIR = dir.path;
  const env = { TSMICRO_REGISTRY_DIR: dir.path, TSMICRO_LOG_LEVEL: 'warn' };
  const subs: [Fixture, Fixture] = [
    startFixture('broker-http-subscriber', [], env),
    startFixture('broker-http-subscriber', [], env),
  ];
  await Promise.all(subs.map((f) => f.waitForLine(/^ready/, WAIT_MS)));
  const publisher = createService({ name: 'broker-http-publisher' });
  return {
    subs,
    publisher,
    async [Symbol.asyncDispose]() {
      await publisher.stop();
      await Promise.all(subs.map((f) => f.kill('SIGKILL')));
      delete process.env.TSMICRO_REGISTRY_DIR;
      await dir[Symbol.asyncDispose]();
    },
  };
}

const stderr = (subs: Fixture[]): string => subs.map((f) => f.stderr()).join('\n');

test('on the defaults, across processes: a queue group splits the events, each delivered once; without a queue each subscriber gets every event', async () => {
  await using s = await setup();
  const { subs, publisher } = s;
  const N = 100;
  for (const id of range(1, N)) {
    await publisher.client.publish('events.work', { id });
    await publisher.client.publish('events.all', { id });
  }
  await waitFor(
    () =>
      subs.every((f) => ids(f, 'events.all').length >= N) &&
      ids(subs[0], 'events.work').length + ids(subs[1], 'events.work').length >= N,
    WAIT_MS,
    () => `all deliveries; stderr:\n${stderr(subs)}`,
  );
  for (const f of subs)
    assert.deepEqual(sorted(ids(f, 'events.all')), range(1, N), 'broadcast: every event, once');
  const work = [...ids(subs[0], 'events.work'), ...ids(subs[1], 'events.work')];
  assert.deepEqual(sorted(work), range(1, N), 'queue group: each event exactly once');
  const shares = subs.map((f) => ids(f, 'events.work').length);
  assert.ok(
    shares.every((n) => n > 0),
    `both members got a share: ${shares.join('/')}`,
  );
});

test('a subscriber SIGKILLed mid-run is dropped from delivery: its queue-mate takes its events, and publishing goes on', async () => {
  await using s = await setup();
  const { subs, publisher } = s;
  const [victim, survivor] = subs;
  for (const id of range(1, 40)) await publisher.client.publish('events.work', { id });
  await waitFor(
    () => ids(victim, 'events.work').length + ids(survivor, 'events.work').length >= 40,
    WAIT_MS,
    () => `the first 40; stderr:\n${stderr(subs)}`,
  );
  assert.ok(ids(victim, 'events.work').length > 0, 'the victim had its share before');
  await victim.kill('SIGKILL');

  // Still registered as far as the publisher knows, until its registry view catches up: every
  // publish must resolve all the same, delivered to the member that lives.
  for (const id of range(41, 100)) await publisher.client.publish('events.work', { id });
  // A broadcast subscriber found dead fails at most one publish (503 naming the topic), then is
  // left out.
  const failures: MicroError[] = [];
  for (const id of range(1, 20))
    await publisher.client.publish('events.all', { id }).catch((err: unknown) => {
      assert.ok(MicroError.is(err, 503), String(err));
      failures.push(err);
    });
  assert.ok(failures.length <= 1, `at most one broadcast publish failed: ${failures.join(', ')}`);
  for (const err of failures)
    assert.match(err.detail, /publish to events\.all: .*cannot be reached/);

  await waitFor(
    () =>
      ids(survivor, 'events.work').some((id) => id === 100) &&
      ids(survivor, 'events.all').length >= 20,
    WAIT_MS,
    () => `the survivor's events; stderr:\n${stderr(subs)}`,
  );
  const before = [
    ...ids(victim, 'events.work'),
    ...ids(survivor, 'events.work').filter((i) => i <= 40),
  ];
  assert.deepEqual(sorted(before), range(1, 40), 'before the kill: each event once');
  assert.deepEqual(
    ids(survivor, 'events.work').filter((i) => i > 40),
    range(41, 100),
    'after the kill: every event went to the survivor, in order',
  );
  assert.deepEqual(sorted(ids(survivor, 'events.all')), range(1, 20));
});
