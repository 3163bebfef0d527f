import type { StandardSchemaV1 } from '@standard-schema/spec';
import { MicroError } from '../errors.js';
import { formatIssues } from './issues.js';
import { validates, type Schema } from './schema.js';

/**
 * Validates one value and returns what the schema made of it (Standard Schema may transform:
 * defaults, coercions), or throws a MicroError with `id`. The result is a promise only when the
 * schema's own validation is asynchronous.
 */
export type Check = (value: unknown, id: string) => unknown;

/**
 * A {@link Check} for `schema`, or undefined when the schema only carries a type: then there is
 * nothing to run, and the caller keeps the path it has without one (so a contract without schemas
 * costs nothing per call).
 *
 * @param code - 400 for what a caller sent, 500 for what a handler answered
 * @param what - the start of the detail, e.g. `invalid request to Greeter.Hello`
 */
export function checkFor(schema: Schema, code: number, what: string): Check | undefined {
  if (!validates(schema)) return undefined;
  const validate = schema['~standard'].validate;
  return (value, id) => {
    const settle = (result: StandardSchemaV1.Result<unknown>): unknown => {
      if (result.issues) throw new MicroError(id, code, `${what}: ${formatIssues(result.issues)}`);
      return result.value;
    };
    let result: StandardSchemaV1.Result<unknown> | Promise<StandardSchemaV1.Result<unknown>>;
    try {
      result = validate(value);
    } catch (err) {
      // A schema library that throws instead of returning issues: still the caller's 400.
      throw new MicroError(id, code, `${what}: ${(err as Error).message}`);
    }
    return result instanceof Promise ? result.then(settle) : settle(result);
  };
}

/** Calls `then` with the checked value, synchronously when the check was synchronous. */
export function afterCheck<T>(checked: unknown, then: (value: unknown) => T): T | Promise<T> {
  return checked instanceof Promise ? checked.then(then) : then(checked);
}
