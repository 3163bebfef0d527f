import assert from 'node:assert/strict';
import { InvalidOptionError } from '../../src/index.js';

/** Asserts `fn` throws an InvalidOptionError that names `option`. */
export function refuses(fn: () => unknown, option: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidOptionError, String(err));
    assert.equal(err.option, option);
    return true;
  });
}
