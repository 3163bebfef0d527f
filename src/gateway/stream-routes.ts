import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocketServer as WsServer } from 'ws';
import type { CallOptions } from '../client/client.js';
import { MicroError } from '../errors.js';
import type { GatewayContext, RouteModule } from './context.js';
import { errorBody, GATEWAY_ERROR_ID, httpErrorOf } from './errors.js';
import { requestTimeout } from './headers.js';
import type { CorsPolicy, GatewayRequestInfo, RouteTarget } from './options.js';
import { WebSocketServer } from './peers.js';
import { retryAfterOf } from './rate-limit.js';
import { endpointName } from './rpc-routes.js';
import { pipeToSse } from './sse.js';
import { pipeWebSocket } from './websocket.js';

/**
 * The gateway's stream routes, on go-micro's paths: `GET /{service}/{Handler}/{Method}` (or
 * `/{service}/{Handler.Method}`) answers with Server-Sent Events of a server stream whose one
 * request comes from the query (`?request=<JSON>`, else the query's fields), and the same paths
 * upgrade to a WebSocket carrying a bidirectional stream. Both go through the route's policy
 * like any route: allowed services only, CORS (for a WebSocket: its Origin against the route's
 * CORS origins), rate limit, the authorize hook, forwarded headers as metadata. A stream has no
 * deadline unless the request asks for one (`x-micro-timeout`), since it lives as long as its
 * reader wants; the route's `timeoutMs` is the unary calls'.
 */

/** Largest WebSocket message from a peer, bytes, unless the body limit is smaller. */
const MAX_MESSAGE_BYTES = 1024 * 1024;

/** The target a stream path names when its service is exposed, else undefined (→ 404). */
function streamTarget(gw: GatewayContext, pathname: string): RouteTarget | undefined {
  const parts = pathname.split('/').slice(1).map(decodeSegment);
  const endpoint =
    parts.length === 3
      ? endpointName(`${parts[1]}.${parts[2]}`)
      : parts.length === 2
        ? endpointName(parts[1])
        : undefined;
  return endpoint !== undefined && gw.allowed(parts[0])
    ? { service: parts[0], endpoint }
    : undefined;
}

/**
 * The path of a request target, as sent. Not `new URL(url, base)`: a path that starts with `//`
 * is a host to it (`//%25x/y` threw, a 500, found by test/fuzz/gateway.test.ts).
 */
function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return '';
  }
}

/** A stream's call options: the route's, without its unary deadline unless the request asks. */
function streamOptions(
  opts: CallOptions,
  headers: IncomingMessage['headers'],
  maxMs: number,
): CallOptions {
  const { timeoutMs: _unary, ...rest } = opts;
  const asked = requestTimeout(headers, maxMs);
  return asked === undefined ? rest : { ...rest, timeoutMs: asked };
}

/** The stream routes: SSE on GET, WebSocket upgrades on the server. */
export const streamRoutes: RouteModule = (app, gw) => {
  const sse = async (
    request: FastifyRequest,
    reply: FastifyReply,
    target: RouteTarget,
  ): Promise<void> => {
    const message = await gw.validate(
      target,
      sseRequest(request.query as Record<string, string | string[]>),
    );
    // HEAD (fastify answers it on every GET route) is the stream's headers without its body:
    // opening the stream would start a service stream nobody reads, and never end the answer.
    if (request.method === 'HEAD') {
      await reply.code(200).type('text/event-stream; charset=utf-8').send();
      return;
    }
    const stream = await gw.client.stream(
      target.service,
      target.endpoint!,
      streamOptions(
        gw.callOptions(request, reply, target),
        request.headers,
        gw.limits.maxTimeoutMs,
      ),
    );
    try {
      // A server stream: its one request, then the end of the input.
      await stream.send(message);
      stream.closeSend();
    } catch (err) {
      stream.cancel();
      throw err;
    }
    reply.hijack();
    // Headers the route's hooks set (CORS) are on the reply, which a hijacked answer skips.
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(reply.getHeaders()))
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
    await pipeToSse(reply.raw, stream, { headers });
  };
  const target = (request: FastifyRequest): RouteTarget | undefined =>
    streamTarget(gw, pathOf(request.url));
  gw.route(app, { method: 'GET', url: '/:service/:handler/:method', target, handler: sse });
  gw.route(app, { method: 'GET', url: '/:service/:endpoint', target, handler: sse });

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: Math.min(MAX_MESSAGE_BYTES, gw.limits.bodyBytes),
    // Compression would buffer in zlib, out of sight of the flow control.
    perMessageDeflate: false,
  });
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void upgrade(gw, wss, req, socket, head);
  });
  app.addHook('onClose', async () => {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
  });
};

/**
 * The request of an SSE stream (EventSource can only GET, without a body): the JSON in the
 * `request` query parameter, else the query's own fields.
 */
function sseRequest(query: Record<string, string | string[]>): unknown {
  const raw = query.request;
  if (raw === undefined) return { ...query };
  if (typeof raw !== 'string')
    throw MicroError.badRequest(GATEWAY_ERROR_ID, 'the request parameter is given twice');
  try {
    return JSON.parse(raw) as unknown;
  } catch (err) {
    throw MicroError.badRequest(
      GATEWAY_ERROR_ID,
      `the request parameter is not JSON: ${(err as Error).message}`,
    );
  }
}

/** Whether a browser page of `origin` may open a WebSocket on a route with `cors`. */
function originAllowed(cors: CorsPolicy | false, origin: string | undefined): boolean {
  // No Origin: not a browser, which CORS does not concern.
  if (origin === undefined) return true;
  if (cors === false) return false;
  return cors.origins === '*' || cors.origins === true || cors.origins.includes(origin);
}

/**
 * Admits a WebSocket upgrade as a route admits a request (target, origin, rate limit, authorize
 * hook), opens the service stream, and only then completes the handshake: a refusal, or a
 * service that cannot be reached, is a typed HTTP answer instead of an opened socket.
 */
async function upgrade(
  gw: GatewayContext,
  wss: WsServer,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  const aborted = new AbortController();
  const onClose = (): void => aborted.abort();
  socket.once('close', onClose);
  socket.on('error', () => socket.destroy());
  let stream;
  try {
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
      throw MicroError.badRequest(GATEWAY_ERROR_ID, 'only WebSocket upgrades are served');
    const url = req.url ?? '/';
    const target = streamTarget(gw, pathOf(url));
    if (!target) throw MicroError.notFound(GATEWAY_ERROR_ID, `no route GET ${url.split('?')[0]}`);
    const origin = req.headers.origin;
    if (!originAllowed(gw.policy(target).cors, origin))
      throw MicroError.forbidden(
        GATEWAY_ERROR_ID,
        `origin ${origin ?? ''} may not open this stream`,
      );
    const info = requestInfo(req, target);
    const opts = await gw.admit(info);
    stream = await gw.client.stream(target.service, target.endpoint!, {
      ...streamOptions(opts, req.headers, gw.limits.maxTimeoutMs),
      signal: aborted.signal,
    });
  } catch (err) {
    refuse(socket, err);
    return;
  }
  socket.off('close', onClose);
  if (aborted.signal.aborted || socket.destroyed) {
    stream.cancel();
    return;
  }
  const opened = stream;
  wss.handleUpgrade(req, socket, head, (ws) => {
    void pipeWebSocket(ws, opened);
  });
}

function requestInfo(req: IncomingMessage, target: RouteTarget): GatewayRequestInfo {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    headers,
    ip: req.socket.remoteAddress ?? '',
    target,
  };
}

/** Answers a refused upgrade as any other gateway error: its status and JSON body. */
function refuse(socket: Duplex, err: unknown): void {
  if (socket.destroyed) return;
  const e = httpErrorOf(err);
  const body = JSON.stringify(errorBody(e));
  const retry = retryAfterOf(err);
  socket.end(
    // The reason phrase is ours, never the error's status text (which could carry a CRLF).
    `HTTP/1.1 ${e.code} ${STATUS_CODES[e.code] ?? 'Error'}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      (retry !== undefined ? `retry-after: ${retry}\r\n` : '') +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      'connection: close\r\n\r\n' +
      body,
  );
}
