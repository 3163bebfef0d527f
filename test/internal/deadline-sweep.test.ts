import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeadlineSweep } from '../../src/internal/deadline-sweep.js';

interface Call {
  readonly name: string;
  readonly deadline: number;
}

function sweepOver(calls: Set<Call>): { sweep: DeadlineSweep<Call>; expired: string[] } {
  const expired: string[] = [];
  const sweep = new DeadlineSweep<Call>(
    () => calls,
    (call) => {
      calls.delete(call);
      expired.push(call.name);
    },
  );
  return { sweep, expired };
}

test('a sweep whose timer fires before its deadline by Date.now() still ends the calls due by that deadline, and only those', () => {
  const now = Date.now();
  const due = { name: 'due', deadline: now + 10_000 };
  const later = { name: 'later', deadline: now + 60_000 };
  const calls = new Set([due, later]);
  const { sweep, expired } = sweepOver(calls);
  sweep.arm(due.deadline);
  // What the timer does when it fires: run here, well before Date.now() reaches the deadline,
  // stands for a timer that fired early by the event loop's cached clock.
  sweep.run();
  assert.deepEqual(expired, ['due']);
  assert.deepEqual(
    [...calls],
    [later],
    'a call due after the armed deadline stays, armed for again',
  );
  sweep.stop();
});

test('a sweep run with nothing armed ends only the calls already past their deadline', () => {
  const now = Date.now();
  const calls = new Set([
    { name: 'past', deadline: now - 1 },
    { name: 'ahead', deadline: now + 60_000 },
  ]);
  const { sweep, expired } = sweepOver(calls);
  sweep.run();
  assert.deepEqual(expired, ['past']);
  sweep.stop();
});
