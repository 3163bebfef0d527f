/**
 * Polls `cond` every `pollMs` until it holds; throws after `timeoutMs`, naming `what` (a
 * function when the message should show the state at the moment of failure).
 */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string | (() => string),
  pollMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`,
      );
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
