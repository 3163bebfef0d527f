import { UsageError } from './errors.js';

/**
 * Resolves on SIGINT or SIGTERM, or when `done` aborts: how the verbs that run until stopped
 * (subscribe, watch) wait, so they can unsubscribe and close before exiting 0.
 */
export function untilStopped(done: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    // What the verb waits on may not hold the process open (the local registry's watch timers
    // are unref'd): this does, until the verb is stopped.
    const keepAlive = setInterval(() => {}, 2 ** 30);
    const finish = (): void => {
      clearInterval(keepAlive);
      process.off('SIGINT', finish);
      process.off('SIGTERM', finish);
      resolve();
    };
    process.once('SIGINT', finish);
    process.once('SIGTERM', finish);
    if (done.aborted) finish();
    else done.addEventListener('abort', finish, { once: true });
  });
}

/** A positive whole number from `--count`, or undefined; anything else is a usage error. */
export function countOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(text))
    throw new UsageError(`--count: expected a whole number ≥ 1, got ${JSON.stringify(text)}`);
  return Number(text);
}
