import http from 'node:http';
import https from 'node:https';
import { MicroError } from '../../errors.js';
import { parseAddress } from '../../options.js';
import type { Node } from '../../registry/registry.js';
import { BROKER_ERROR_ID } from '../nats/outage.js';

/**
 * What became of one POST to a subscriber:
 * - `ok`: its handler accepted the message (any 2xx; go-micro's subscribers always say 200);
 * - `unsubscribed`: a tsmicro broker answered 404, it has no such subscription any more (the
 *   publisher's view of the registry was a moment old). Nothing was handled;
 * - `refused`: nothing listens there (the process is gone). Nothing was handled;
 * - `unreachable`: the connection broke or could not be made, so it may or may not have been
 *   handled;
 * - `failed`: it answered with an error (its handler rejected, or the message was refused), or
 *   did not answer within the delivery timeout.
 */
export type SendOutcome =
  | { kind: 'ok' }
  | { kind: 'unsubscribed' }
  | { kind: 'refused' | 'unreachable'; reason: string }
  | { kind: 'failed'; error: MicroError };

/** Keep-alive HTTP/1.1 client that POSTs envelopes to subscriber nodes. */
export class EnvelopeSender {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64, noDelay: true });
  private readonly tlsAgent = new https.Agent({ keepAlive: true, maxSockets: 64, noDelay: true });

  constructor(private readonly timeoutMs: number) {}

  /** POSTs `body` to `node` as go-micro does: `http://<address>/?id=<node id>`. */
  async send(node: Node, body: Uint8Array): Promise<SendOutcome> {
    const first = await this.post(node, body);
    // A kept-alive socket the server closed just as we reused it fails before the request was
    // read: Node's documented race. Once more on a fresh socket tells a dead node from a stale one.
    if (first.kind === 'unreachable' && first.reused) return this.post(node, body);
    return first;
  }

  close(): void {
    this.agent.destroy();
    this.tlsAgent.destroy();
  }

  private post(node: Node, body: Uint8Array): Promise<SendOutcome & { reused?: boolean }> {
    const target = parseAddress(node.address);
    if (!target) return Promise.resolve({ kind: 'refused', reason: `bad address ${node.address}` });
    const secure = node.metadata.secure === 'true';
    return new Promise((resolve) => {
      let settled = false;
      const done = (outcome: SendOutcome & { reused?: boolean }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const req = (secure ? https : http).request({
        agent: secure ? this.tlsAgent : this.agent,
        host: target.host,
        port: target.port,
        method: 'POST',
        path: `/?id=${encodeURIComponent(node.id)}`,
        headers: { 'content-type': 'application/json', 'content-length': body.byteLength },
      });
      const timer = setTimeout(() => {
        done({
          kind: 'failed',
          error: MicroError.gatewayTimeout(
            BROKER_ERROR_ID,
            `subscriber ${node.id} at ${node.address} did not answer within ${this.timeoutMs} ms`,
          ),
        });
        req.destroy();
      }, this.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => {
        const reason = `${err.code ?? 'error'}: ${err.message}`;
        if (err.code === 'ECONNREFUSED') done({ kind: 'refused', reason });
        else done({ kind: 'unreachable', reason, reused: req.reusedSocket });
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          // An error body is a few hundred bytes; a peer streaming more is not worth reading.
          if ((size += c.byteLength) <= 64 * 1024) chunks.push(c);
        });
        res.on('error', (err) => done({ kind: 'unreachable', reason: err.message }));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return done({ kind: 'ok' });
          const text = Buffer.concat(chunks).toString('utf8');
          if (status === 404 && res.headers['x-tsmicro-broker'] !== undefined)
            return done({ kind: 'unsubscribed' });
          done({ kind: 'failed', error: answerError(node, status, text) });
        });
      });
      req.end(body);
    });
  }
}

/** The subscriber's error as it sent it (go-micro's JSON), or one naming what it answered. */
function answerError(node: Node, status: number, text: string): MicroError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const code = (parsed as { code?: unknown } | undefined)?.code;
  if (typeof code === 'number' && Number.isInteger(code) && code > 0)
    return MicroError.fromJSON(parsed as Record<string, unknown>, BROKER_ERROR_ID);
  return new MicroError(
    BROKER_ERROR_ID,
    status >= 400 && status < 600 ? status : 502,
    `subscriber ${node.id} at ${node.address} answered ${status}: ${text.slice(0, 200)}`,
  );
}
