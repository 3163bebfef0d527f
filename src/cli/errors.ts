import { InvalidOptionError, MicroError } from '../index.js';

/**
 * How the command ends on a failure: a mistake in what the user typed (a flag, an argument, the
 * JSON given) is a usage error, one line on stderr and exit code 2; anything the system answered
 * (a MicroError from a service, the registry or the broker) is printed as its JSON on stderr,
 * exit code 1.
 */

/** Something wrong in what the user typed. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Exit code of a usage error. */
export const USAGE_EXIT = 2;
/** Exit code of a failure the system reported. */
export const FAILURE_EXIT = 1;

/** Prints `err` the way its kind is printed and returns the exit code. */
export function report(err: unknown): number {
  if (err instanceof UsageError || err instanceof InvalidOptionError) {
    process.stderr.write(`tsmicro: ${oneLine(err.message)}\n`);
    return USAGE_EXIT;
  }
  const micro = MicroError.is(err) ? err : MicroError.from(err, 'tsmicro.cli');
  process.stderr.write(`${JSON.stringify(micro)}\n`);
  return FAILURE_EXIT;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
