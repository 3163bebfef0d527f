import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { MicroError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { joinHostPort, parseAddress } from '../../options.js';
import type { BrokerHandler, BrokerMessage } from '../broker.js';
import { decodeEnvelope } from '../envelope.js';
import { BROKER_ERROR_ID } from '../nats/outage.js';
import { TOPIC_HEADER } from './wire.js';

/** The subscription a node id names, as the receiver needs it. */
export interface Route {
  topic: string;
  handler: BrokerHandler;
}

/** What the receiver counts. */
export interface ReceiverCounters {
  delivered: number;
  malformed: number;
  handlerErrors: number;
}

/** Marks our answers, so a publisher tells a tsmicro broker's 404 from any other server's. */
export const BROKER_MARK_HEADER = 'x-tsmicro-broker';

/**
 * The subscriber side of go-micro's HTTP broker: `POST /?id=<node id>` with the JSON envelope.
 * Unlike go-micro (200 whatever happened), the answer tells the publisher the truth: 200 once
 * the handler resolved, 500 with the handler's error when it rejected, 400 for a message that is
 * malformed (or that the handler refused as such: it would fail again, so nobody retries it),
 * 404 for a subscription that is not here, 405 / 413 for other requests. Every error body is
 * go-micro's error JSON. Nothing a peer sends can stop it serving.
 */
export class EnvelopeReceiver {
  private server: http.Server | undefined;

  constructor(
    private readonly route: (id: string) => Route | undefined,
    private readonly counters: ReceiverCounters,
    private readonly opts: {
      maxBodyBytes: number;
      logger: Logger;
      onError: ((err: unknown, topic: string) => void) | undefined;
    },
  ) {}

  /** Listens on `address` (`host:port`) and returns the bound `host:port`. */
  async listen(address: string): Promise<string> {
    const { host, port } = parseAddress(address)!;
    const server = http.createServer((req, res) => {
      res.setHeader(BROKER_MARK_HEADER, '1');
      this.handle(req, res).catch((err: unknown) => {
        // Only a bug gets here; answer anyway so the publisher is not left waiting.
        this.opts.logger.error({ err }, 'http broker: request handling failed');
        answer(res, MicroError.from(err, BROKER_ERROR_ID));
      });
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      if (!socket.writable) return socket.destroy();
      const body = JSON.stringify(
        MicroError.badRequest(
          BROKER_ERROR_ID,
          `malformed HTTP request: ${err.code ?? err.message}`,
        ),
      );
      socket.end(
        `HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${BROKER_MARK_HEADER}: 1\r\nconnection: close\r\n\r\n${body}`,
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const bound = server.address() as AddressInfo;
    return joinHostPort(bound.address, bound.port);
  }

  /** Stops accepting; lets requests in flight finish for up to `graceMs`, then cuts them. */
  async close(graceMs: number): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    await closed;
    clearTimeout(timer);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      req.resume();
      return answer(
        res,
        new MicroError(BROKER_ERROR_ID, 405, `method ${req.method} not allowed; POST an event`),
      );
    }
    const url = new URL(req.url ?? '/', 'http://broker');
    if (url.pathname !== '/') {
      req.resume();
      return answer(res, MicroError.notFound(BROKER_ERROR_ID, `no broker path ${url.pathname}`));
    }
    const data = await readBody(req, this.opts.maxBodyBytes);
    if (data instanceof MicroError) {
      res.setHeader('connection', 'close');
      return answer(res, data);
    }
    let message: BrokerMessage;
    try {
      message = decodeEnvelope(data);
    } catch (err) {
      this.counters.malformed++;
      return answer(res, MicroError.badRequest(BROKER_ERROR_ID, (err as Error).message));
    }
    const topic = headerOf(message.header, TOPIC_HEADER);
    if (!topic) {
      this.counters.malformed++;
      return answer(
        res,
        MicroError.badRequest(BROKER_ERROR_ID, `the message has no ${TOPIC_HEADER} header`),
      );
    }
    const id = url.searchParams.get('id') ?? '';
    const route = this.route(id);
    if (!route)
      return answer(
        res,
        MicroError.notFound(BROKER_ERROR_ID, `no subscription ${JSON.stringify(id)} here`),
      );
    if (route.topic !== topic)
      return answer(
        res,
        MicroError.badRequest(
          BROKER_ERROR_ID,
          `subscription ${id} is to ${route.topic}, the message is on ${topic}`,
        ),
      );
    try {
      await route.handler(message, topic);
      this.counters.delivered++;
      res.writeHead(200).end();
    } catch (err) {
      const error = MicroError.from(err, BROKER_ERROR_ID);
      if (error.code === 400) {
        this.counters.malformed++;
        this.opts.logger.warn({ err, topic }, 'subscriber rejected a malformed message');
        return answer(res, error);
      }
      this.counters.handlerErrors++;
      this.opts.logger.debug({ err, topic }, 'handler failed');
      try {
        this.opts.onError?.(err, topic);
      } catch {
        /* a failing observer must not change the answer */
      }
      answer(res, error, 500);
    }
  }
}

/** Go's error JSON; `status` defaults to the error's code when it is an HTTP error code. */
function answer(res: http.ServerResponse, error: MicroError, status?: number): void {
  if (res.headersSent) return void res.end();
  const body = JSON.stringify(error);
  const code = status ?? (error.code >= 400 && error.code < 600 ? error.code : 500);
  res
    .writeHead(code, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    })
    .end(body);
}

/** The request body, or a MicroError: 413 once it passes `max` bytes, 400 when it broke off. */
function readBody(req: http.IncomingMessage, max: number): Promise<Uint8Array | MicroError> {
  const tooLarge = (): MicroError =>
    MicroError.payloadTooLarge(BROKER_ERROR_ID, `event larger than ${max} bytes`);
  return new Promise((resolve) => {
    if (Number(req.headers['content-length'] ?? 0) > max) {
      req.resume();
      return resolve(tooLarge());
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.byteLength;
      if (size <= max) return void chunks.push(chunk);
      // The rest is read and discarded; the answer closes the connection.
      over = true;
      chunks.length = 0;
      resolve(tooLarge());
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) =>
      resolve(MicroError.badRequest(BROKER_ERROR_ID, `request broke off: ${err.message}`)),
    );
  });
}

function headerOf(header: Readonly<Record<string, string>>, key: string): string | undefined {
  if (key in header) return header[key];
  const lower = key.toLowerCase();
  for (const k of Object.keys(header)) if (k.toLowerCase() === lower) return header[k];
  return undefined;
}
