import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WebSocketServer } from 'ws';
import type { ClientStream } from '../client/client.js';
import { MicroError } from '../errors.js';
import { pipeToSse } from './sse.js';
import { GATEWAY_STREAM_ERROR_ID } from './stream-errors.js';
import { pipeWebSocket } from './websocket.js';

/**
 * The gateway's stream routes, on go-micro's paths: `GET /{service}/{Handler}/{Method}` (or
 * `/{service}/{Handler.Method}`) answers with Server-Sent Events of a server stream whose one
 * request comes from the query (`?request=<JSON>`, else the query's fields), and the same paths
 * upgrade to a WebSocket carrying a bidirectional stream. Which streams are reachable, with which
 * metadata and CORS, is the gateway core's call through {@link StreamOpener}.
 */

/** A stream route's target. */
export interface StreamTarget {
  readonly service: string;
  /** `Handler.Method`. */
  readonly endpoint: string;
}

/** What kind of stream the HTTP side asked for. */
export type StreamKind = 'sse' | 'websocket';

/** An opened service stream and the headers its HTTP answer carries (CORS, ...). */
export interface OpenedStream {
  readonly stream: ClientStream<unknown, unknown>;
  readonly headers?: Record<string, string>;
}

/**
 * Admits a stream request and opens the service stream (exposure, origin, auth, metadata and
 * the client call are the core's); throws a MicroError to refuse, which becomes the HTTP answer.
 * `signal` aborts when the HTTP side goes away.
 */
export type StreamOpener = (
  req: IncomingMessage,
  target: StreamTarget,
  kind: StreamKind,
  signal: AbortSignal,
) => Promise<OpenedStream>;

/** Options of {@link registerStreamRoutes}. */
export interface StreamRouteOptions {
  readonly open: StreamOpener;
  /** See {@link SseOptions.heartbeatMs}. */
  readonly heartbeatMs?: number;
  /** Largest WebSocket message from a peer, bytes; a bigger one closes the socket with 1009. @defaultValue 1 MiB */
  readonly maxMessageBytes?: number;
  /** See {@link WebSocketPipeOptions.highWaterMark}. */
  readonly highWaterMark?: number;
}

const SEGMENT = /^[A-Za-z0-9_.-]+$/;

/** The target a stream path names, or undefined when it names none. */
export function streamTarget(pathname: string): StreamTarget | undefined {
  const parts = pathname.split('/').slice(1);
  if (!parts.every((p) => SEGMENT.test(p))) return undefined;
  if (parts.length === 3) return { service: parts[0], endpoint: `${parts[1]}.${parts[2]}` };
  if (parts.length === 2 && /^[^.]+\.[^.]+$/.test(parts[1]))
    return { service: parts[0], endpoint: parts[1] };
  return undefined;
}

/** Adds the SSE routes to `app` and takes WebSocket upgrades on its server. */
export function registerStreamRoutes(app: FastifyInstance, opts: StreamRouteOptions): void {
  const sse = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const target = streamTarget(new URL(request.url, 'http://gateway').pathname);
    if (!target)
      throw MicroError.notFound(GATEWAY_STREAM_ERROR_ID, `no stream route ${request.url}`);
    const message = sseRequest(request.query as Record<string, string | string[]>);
    const aborted = new AbortController();
    reply.raw.once('close', () => aborted.abort());
    const { stream, headers } = await opts.open(request.raw, target, 'sse', aborted.signal);
    try {
      // A server stream: its one request, then the end of the input.
      await stream.send(message);
      stream.closeSend();
    } catch (err) {
      stream.cancel();
      throw err;
    }
    reply.hijack();
    // Headers the core's hooks set (CORS) are on the reply, which a hijacked answer skips.
    const replyHeaders: Record<string, string> = {};
    for (const [k, v] of Object.entries(reply.getHeaders()))
      if (v !== undefined) replyHeaders[k] = Array.isArray(v) ? v.join(', ') : String(v);
    await pipeToSse(reply.raw, stream, {
      headers: { ...replyHeaders, ...headers },
      ...(opts.heartbeatMs !== undefined && { heartbeatMs: opts.heartbeatMs }),
    });
  };
  app.get('/:service/:handler/:method', sse);
  app.get('/:service/:endpoint', sse);
  app.addHook('onReady', async () => {
    acceptUpgrades(app.server, opts);
  });
}

/**
 * The request of an SSE stream (EventSource can only GET, without a body): the JSON in the
 * `request` query parameter, else the query's own fields.
 */
function sseRequest(query: Record<string, string | string[]>): unknown {
  const raw = query.request;
  if (raw === undefined) return { ...query };
  if (typeof raw !== 'string')
    throw MicroError.badRequest(GATEWAY_STREAM_ERROR_ID, 'the request parameter is given twice');
  try {
    return JSON.parse(raw) as unknown;
  } catch (err) {
    throw MicroError.badRequest(
      GATEWAY_STREAM_ERROR_ID,
      `the request parameter is not JSON: ${(err as Error).message}`,
    );
  }
}

/** Takes WebSocket upgrades on `server`'s stream paths; refuses others with a typed HTTP answer. */
function acceptUpgrades(server: Server, opts: StreamRouteOptions): void {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: opts.maxMessageBytes ?? 1024 * 1024,
    // Compression would buffer in zlib, out of sight of the flow control.
    perMessageDeflate: false,
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void upgrade(wss, req, socket, head, opts);
  });
}

async function upgrade(
  wss: WebSocketServer,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  opts: StreamRouteOptions,
): Promise<void> {
  const aborted = new AbortController();
  const onClose = (): void => aborted.abort();
  socket.once('close', onClose);
  socket.on('error', () => socket.destroy());
  let opened: OpenedStream;
  try {
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
      throw MicroError.badRequest(GATEWAY_STREAM_ERROR_ID, 'only WebSocket upgrades are served');
    const target = streamTarget(new URL(req.url ?? '/', 'http://gateway').pathname);
    if (!target)
      throw MicroError.notFound(GATEWAY_STREAM_ERROR_ID, `no stream route ${req.url ?? ''}`);
    opened = await opts.open(req, target, 'websocket', aborted.signal);
  } catch (err) {
    refuse(socket, MicroError.from(err, GATEWAY_STREAM_ERROR_ID));
    return;
  }
  socket.off('close', onClose);
  if (aborted.signal.aborted || socket.destroyed) {
    opened.stream.cancel();
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    void pipeWebSocket(
      ws,
      opened.stream,
      opts.highWaterMark !== undefined ? { highWaterMark: opts.highWaterMark } : {},
    );
  });
}

/** Answers a refused upgrade as any other gateway error: its status and JSON body. */
function refuse(socket: Duplex, err: MicroError): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(err.toJSON());
  const code = err.code >= 400 && err.code <= 599 ? err.code : 500;
  socket.end(
    // The reason phrase is ours, never the error's status text (which could carry a CRLF).
    `HTTP/1.1 ${code} ${STATUS_CODES[code] ?? 'Error'}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      'connection: close\r\n\r\n' +
      body,
  );
}
