/**
 * `thrown` as an Error: itself when it is one (a MicroError included), else an Error carrying
 * its text, with the value as the cause. For what a queue or watcher ends with, which its
 * consumer then throws.
 */
export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown), { cause: thrown });
}
