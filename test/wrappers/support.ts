import { once } from 'node:events';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';

/** Helpers shared by the wrapper tests. */

/** A loopback address nothing listens on (bound, then closed): dialling it is refused. */
export async function refusedAddress(): Promise<string> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return `127.0.0.1:${port}`;
}

/** A stream collecting pino's JSON lines, parsed. */
export function jsonLines(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  let rest = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      rest += chunk.toString('utf8');
      let i: number;
      while ((i = rest.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(rest.slice(0, i)) as Record<string, unknown>);
        rest = rest.slice(i + 1);
      }
      cb();
    },
  });
  return { stream, lines };
}

/** A promise with its resolver outside, for "wait until the handler runs" gates. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * Resolves when `predicate` holds, checked after each `event` listener call; bounded by
 * `timeoutMs`.
 */
export function until(
  predicate: () => boolean,
  subscribe: (check: () => void) => void,
  timeoutMs = 30_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (predicate()) {
      resolve();
      return;
    }
    const timer = setTimeout(
      () => reject(new Error(`condition not met within ${timeoutMs} ms`)),
      timeoutMs,
    );
    subscribe(() => {
      if (predicate()) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}
