import { test } from 'node:test';
import assert from 'node:assert/strict';
import { composeWrappers } from '../src/compose.js';

type Fn = (x: string[]) => string[];

test('the first wrapper in the list is the outermost', () => {
  const events: string[] = [];
  const tag =
    (name: string) =>
    (next: Fn): Fn =>
    (x) => {
      events.push(`${name}>`);
      const r = next([...x, name]);
      events.push(`<${name}`);
      return r;
    };
  const fn = composeWrappers<Fn>([tag('a'), tag('b'), tag('c')], (x) => {
    events.push('base');
    return x;
  });
  assert.deepEqual(fn([]), ['a', 'b', 'c']);
  assert.deepEqual(events, ['a>', 'b>', 'c>', 'base', '<c', '<b', '<a']);
});

test('no wrappers gives the base function itself', () => {
  const base: Fn = (x) => x;
  assert.equal(composeWrappers<Fn>([], base), base);
  assert.equal(composeWrappers<Fn>(undefined, base), base);
});
