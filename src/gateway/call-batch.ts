/**
 * Starts calls in batches, one per turn of the event loop: the HTTP requests that arrive in one
 * poll phase (each in its own socket callback) start their calls together in the check phase,
 * so the transport writes their frames in a few system calls instead of one each. Without it a
 * gateway under load spends a large part of its time in one write per call (`--cpu-prof`). It
 * costs a request at most one turn of the loop.
 */
const queued: (() => void)[] = [];
let scheduled = false;

function runQueued(): void {
  scheduled = false;
  const batch = queued.splice(0);
  for (const start of batch) start();
}

/** Runs `call` in the next batch; resolves or rejects as it does. */
export function inBatch<T>(call: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    queued.push(() => {
      call().then(resolve, reject);
    });
    if (!scheduled) {
      scheduled = true;
      setImmediate(runQueued);
    }
  });
}
