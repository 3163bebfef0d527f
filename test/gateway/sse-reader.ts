import http from 'node:http';

/** One Server-Sent Event as the wire carried it. */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/**
 * Reads an event stream over node:http, event by event, with the response under the test's
 * control: {@link SseReader.pause} stops reading from the socket (TCP then stops the gateway).
 */
export interface SseReader {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** The next event (comments skipped), or undefined at the end of the response. */
  next(): Promise<SseEvent | undefined>;
  /** The body as text, for a response that is not an event stream. */
  text(): Promise<string>;
  pause(): void;
  resume(): void;
  close(): void;
}

export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      res.setEncoding('utf8');
      res.pause();
      let buffer = '';
      let ended = false;
      const events: SseEvent[] = [];
      let wake: (() => void) | undefined;
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const ev: SseEvent = { event: 'message', data: '' };
          let fields = 0;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const at = line.indexOf(':');
            const name = at < 0 ? line : line.slice(0, at);
            const value = at < 0 ? '' : line.slice(at + 1).replace(/^ /, '');
            fields++;
            if (name === 'event') ev.event = value;
            else if (name === 'data') ev.data = ev.data === '' ? value : `${ev.data}\n${value}`;
            else if (name === 'id') ev.id = value;
          }
          if (fields > 0) events.push(ev);
        }
        wake?.();
      });
      const finish = (): void => {
        ended = true;
        wake?.();
      };
      res.on('end', finish);
      res.on('close', finish);
      let paused = false;
      const reader: SseReader = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        async next() {
          if (!paused) res.resume();
          while (events.length === 0 && !ended)
            await new Promise<void>((r) => {
              wake = r;
            });
          return events.shift();
        },
        async text() {
          res.resume();
          while (!ended)
            await new Promise<void>((r) => {
              wake = r;
            });
          return buffer;
        },
        pause() {
          paused = true;
          res.pause();
        },
        resume() {
          paused = false;
          res.resume();
        },
        close() {
          req.destroy();
        },
      };
      resolve(reader);
    });
    req.on('error', reject);
  });
}
