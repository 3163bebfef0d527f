import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MicroError } from '../../src/index.js';
import { Blacklist, outcomeOf, type EjectionPolicy } from '../../src/selector/blacklist.js';

// Ejection rules on their own, on a clock the test moves (the rules are arithmetic on time).
const policy: EjectionPolicy = { afterFaults: 3, baseMs: 1_000, maxMs: 3_000, maxShare: 0.5 };
const refused = new MicroError('go.micro.client', 503, 'connect ECONNREFUSED', undefined, {
  fault: { beforeHandler: true, reason: 'refused' },
});
const timedOut = new MicroError('go.micro.client', 408, 'attempt timeout', undefined, {
  fault: { beforeHandler: false, reason: 'timeout' },
});

function setup(nodes = 4): { bl: Blacklist; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  const bl = new Blacklist(policy, () => clock.now);
  bl.setNodeCount('svc', nodes);
  return { bl, clock };
}

test('only transport faults count; answers (even errors) clear the count; 408s without a fault are neutral', () => {
  assert.equal(outcomeOf(undefined), 'answered');
  assert.equal(outcomeOf(refused), 'fault');
  assert.equal(outcomeOf(timedOut), 'fault');
  assert.equal(outcomeOf(MicroError.internal('svc', 'boom')), 'answered');
  assert.equal(outcomeOf(MicroError.badRequest('svc', 'bad')), 'answered');
  assert.equal(outcomeOf(MicroError.timeout('go.micro.client', 'call timeout')), 'neutral');
  assert.equal(outcomeOf(new Error('not a MicroError')), 'neutral');
});

test('three faults in a row eject; an answer in between starts the count again', () => {
  const { bl } = setup();
  bl.record('svc', 'n1', 'fault');
  bl.record('svc', 'n1', 'fault');
  bl.record('svc', 'n1', 'answered');
  bl.record('svc', 'n1', 'fault');
  assert.equal(bl.record('svc', 'n1', 'fault'), undefined);
  assert.equal(bl.isEjected('svc', 'n1'), false);
  assert.equal(
    bl.record('svc', 'n1', 'fault'),
    1_000,
    'the third fault in a row ejects for the base period',
  );
  assert.equal(bl.isEjected('svc', 'n1'), true);
});

test('an ejection ends by time alone, and each repeat offence doubles it up to the cap', () => {
  const { bl, clock } = setup();
  const periods: (number | undefined)[] = [];
  for (let offence = 0; offence < 4; offence++) {
    for (let i = 0; i < 2; i++) bl.record('svc', 'n1', 'fault');
    periods.push(bl.record('svc', 'n1', 'fault'));
    clock.now += periods.at(-1)! - 1;
    assert.equal(bl.isEjected('svc', 'n1'), true);
    clock.now += 1;
    assert.equal(bl.isEjected('svc', 'n1'), false, 'back exactly when the period ends');
  }
  assert.deepEqual(periods, [1_000, 2_000, 3_000, 3_000]);
});

test("never more than the max share of a service's nodes is ejected at once", () => {
  const { bl, clock } = setup(4);
  for (const id of ['n1', 'n2', 'n3', 'n4'])
    for (let i = 0; i < 3; i++) bl.record('svc', id, 'fault');
  assert.deepEqual(
    ['n1', 'n2', 'n3', 'n4'].map((id) => bl.isEjected('svc', id)),
    [true, true, false, false],
  );
  clock.now += 1_000; // n1 and n2 come back; the next fault of n3 may now eject it
  assert.ok(bl.record('svc', 'n3', 'fault'));
  assert.equal(bl.isEjected('svc', 'n3'), true);
  const lonely = setup(1).bl;
  for (let i = 0; i < 10; i++) lonely.record('svc', 'only', 'fault');
  assert.equal(lonely.isEjected('svc', 'only'), false, 'a single node is never ejected');
});

test('reset() puts every node back and forgets its offences', () => {
  const { bl } = setup();
  for (let i = 0; i < 3; i++) bl.record('svc', 'n1', 'fault');
  bl.reset('svc');
  bl.setNodeCount('svc', 4);
  assert.equal(bl.isEjected('svc', 'n1'), false);
  for (let i = 0; i < 2; i++) bl.record('svc', 'n1', 'fault');
  assert.equal(
    bl.record('svc', 'n1', 'fault'),
    1_000,
    'the next ejection is a first offence again',
  );
});
