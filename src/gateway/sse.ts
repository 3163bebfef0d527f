import type { ServerResponse } from 'node:http';
import type { ClientStream } from '../client/client.js';
import { errorBody, httpErrorOf } from './errors.js';

/**
 * A service's stream as Server-Sent Events: each message it sends is one `data:` event (its
 * JSON), the end is `event: end`, a failure is `event: error` with the MicroError's
 * `{id, code, detail, status}`. Flow control is kept end to end: the next message is taken from
 * the service only once the HTTP response has room for it, so a reader that does not read stops
 * the pull, the tsmicro stream's transport stops reading, and the service's `send` waits.
 */

/** Options of {@link pipeToSse}. */
export interface SseOptions {
  /**
   * A comment line is written after this many ms without a message, so that proxies and the
   * browser keep an idle stream open; 0 for none. @defaultValue 15000
   */
  heartbeatMs?: number;
  /** Extra response headers (CORS, ...). */
  headers?: Record<string, string>;
}

/** Why the loop stopped waiting: the HTTP side went away. */
const GONE = Symbol('gone');

/**
 * Writes `stream`'s messages to `res` as an event stream until the service ends it, it fails, or
 * the HTTP reader goes away (then the service stream is cancelled). Resolves once `res` is done;
 * never rejects.
 */
export async function pipeToSse(
  res: ServerResponse,
  stream: ClientStream<unknown, unknown>,
  opts: SseOptions = {},
): Promise<void> {
  res.writeHead(200, {
    ...opts.headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    // Proxies that buffer responses (nginx) would hold every event back.
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  let gone!: () => void;
  const left = new Promise<typeof GONE>((resolve) => {
    gone = () => resolve(GONE);
  });
  // 'close' fires when the response is over either way; before writableFinished it means the
  // reader left.
  res.once('close', gone);
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  let idle = true;
  const heartbeat =
    heartbeatMs > 0
      ? setInterval(() => {
          // A full buffer already keeps the connection busy; a comment would only add to it.
          if (idle && !res.writableNeedDrain) res.write(': keep-alive\n\n');
          idle = true;
        }, heartbeatMs)
      : undefined;
  heartbeat?.unref();
  let id = 0;
  try {
    for (;;) {
      const next = stream.recv();
      // A reader that leaves while a recv is pending cancels the stream, which rejects it.
      next.catch(() => undefined);
      const msg = await Promise.race([next, left]);
      if (msg === GONE) {
        stream.cancel();
        return;
      }
      if (msg === undefined) break;
      idle = false;
      id++;
      // JSON.stringify escapes every line break, so one data line carries the whole message.
      if (!res.write(`id: ${id}\ndata: ${JSON.stringify(msg)}\n\n`)) {
        const room = await Promise.race([onceDrained(res), left]);
        if (room === GONE) {
          stream.cancel();
          return;
        }
      }
    }
    res.end('event: end\ndata: {}\n\n');
  } catch (err) {
    // Also when writing failed: the service side must not stay open behind a dead response.
    stream.cancel();
    // Typed as the gateway's unary answers are: upstream faults become 502/503/504.
    const e = httpErrorOf(err);
    if (!res.destroyed) res.end(`event: error\ndata: ${JSON.stringify(errorBody(e))}\n\n`);
  } finally {
    clearInterval(heartbeat);
    res.off('close', gone);
  }
}

function onceDrained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => res.once('drain', () => resolve()));
}
