import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CallOptions } from '../client/client.js';
import { InvalidOptionError, MicroError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metadata } from '../metadata.js';
import {
  checkAddress,
  checkComponent,
  checkRegistryName,
  isList,
  joinHostPort,
  parseAddress,
} from '../options.js';
import type { GatewayContext, GatewayRouteSpec, RouteModule } from './context.js';
import { corsOptions } from './cors.js';
import { errorBody, GATEWAY_ERROR_ID, httpErrorOf } from './errors.js';
import { headerRules, requestTimeout } from './headers.js';
import { resolveLimits } from './limits.js';
import type { GatewayOptions, GatewayRequestInfo, RouteTarget } from './options.js';
import { fastify, fastifyCors } from './peers.js';
import { policyTable } from './policy.js';
import { RateLimited, rateLimits } from './rate-limit.js';
import { checkedRequest, contractEndpoints } from './endpoint-check.js';
import { contractIdempotence, contractRoutes } from './contract-routes.js';
import { openapiRoute } from './openapi-route.js';
import { registryRoutes } from './registry-routes.js';
import { rpcRoutes } from './rpc-routes.js';
import { streamRoutes } from './stream-routes.js';

/**
 * The route groups, in registration order. Each gets the fastify instance and the gateway
 * context; a new kind of route (streams) is one more module here.
 */
const ROUTE_MODULES: readonly RouteModule[] = [
  registryRoutes,
  openapiRoute,
  rpcRoutes,
  contractRoutes,
  streamRoutes,
];

/** An HTTP gateway in front of tsmicro services, made by {@link createGateway}. */
export interface Gateway {
  /** Starts listening; resolves with the `host:port` it listens on. */
  listen(): Promise<string>;
  /** The `host:port` it listens on; undefined before {@link Gateway.listen} resolved. */
  readonly address: string | undefined;
  /**
   * Stops taking connections, lets the requests in flight finish and closes the server. The
   * client (and its registry) are the caller's, and stay open.
   */
  close(): Promise<void>;
}

const DEFAULT_ADDRESS = '127.0.0.1:8080';

/**
 * An HTTP gateway: go-micro's API routes (`POST /{service}/{Handler}/{Method}`, `POST
 * /{service}/{Handler.Method}`, `POST /rpc`, `GET /`, `GET /{service}`), the HTTP routes of
 * contracts, and `/openapi.json`, each answered through `options.client`, with CORS, rate
 * limits, an authorize hook and limits per route. Only the allowed services and the contracts
 * are reachable. Errors are go-micro's JSON `{ id, code, detail, status }` under their HTTP
 * status. Built on fastify. Throws InvalidOptionError naming a bad option.
 *
 * @example
 * ```ts
 * const gateway = createGateway({ client, registry, services: ['greeter'] });
 * console.log(await gateway.listen()); // 127.0.0.1:8080
 * // curl -d '{"name":"Ann"}' http://127.0.0.1:8080/greeter/Greeter/Hello
 * ```
 */
export function createGateway(options: GatewayOptions): Gateway {
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionError('options', 'expected { client, services, ... }');
  const client = checkComponent('client', options.client, ['call', 'stream']);
  if (!client) throw new InvalidOptionError('client', 'required: the client behind every route');
  const registry = checkComponent('registry', options.registry, ['getService', 'listServices']);
  const listen = parseAddress(checkAddress('address', options.address) ?? DEFAULT_ADDRESS)!;
  if (options.services !== undefined && !isList(options.services))
    throw new InvalidOptionError('services', 'expected a list of service names');
  const services = new Set(
    (options.services ?? []).map((s, i) => checkRegistryName(`services[${i}]`, s)!),
  );
  const contracts = checkContracts(options.contracts);
  for (const c of contracts) services.add(c.name);
  const endpoints = contractEndpoints(contracts);
  const limits = resolveLimits(options.limits);
  const logger = options.logger ?? silentLogger();
  const policy = policyTable(options.defaults, options.routes, contractIdempotence(contracts));
  const forward = headerRules(options.forwardHeaders, options.forwardPrefixes);
  const limit = rateLimits();
  /** What the authorize hook added to each admitted request's call. */
  const admitted = new WeakMap<FastifyRequest, Metadata>();
  const optionsTwins = new Map<string, Map<string, GatewayRouteSpec['target']>>();

  const app = fastify({
    logger: false,
    bodyLimit: limits.bodyBytes,
    routerOptions: { maxParamLength: limits.urlLength },
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    forceCloseConnections: 'idle',
    http: {
      maxHeaderSize: limits.headerBytes,
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      // Node checks the two timeouts above on this interval (30 s by default, longer than they
      // are): a slow client is cut within about a second of its limit instead.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, limits.headersTimeoutMs / 2)),
    },
    return503OnClosing: true,
    clientErrorHandler: clientError,
    // Errors fastify raises before any route runs (a URL that does not decode, a bad
    // content-type): typed like every other answer (`fail` is defined below, before any request).
    frameworkErrors: (err, _request, reply) => {
      void fail(reply, fastifyError(err));
    },
  });

  const info = (request: FastifyRequest, target: RouteTarget): GatewayRequestInfo => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(request.headers))
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    return { method: request.method, url: request.url, headers, ip: request.ip, target };
  };

  const fail = (reply: FastifyReply, err: unknown): FastifyReply => {
    const e = httpErrorOf(err);
    if (e.code >= 500 && !MicroError.is(err)) logger.error({ err }, 'gateway route failed');
    if (err instanceof RateLimited) void reply.header('retry-after', String(err.retryAfterSec));
    return reply.code(e.code).type('application/json').send(errorBody(e));
  };

  const gw: GatewayContext = {
    client,
    ...(registry ? { registry } : {}),
    contracts,
    limits,
    logger,
    services: [...services].sort(),
    allowed: (service) => services.has(service),
    contractEndpoint: (target) => endpoints.get(`${target.service}/${target.endpoint ?? ''}`),
    validate: (target, request) =>
      checkedRequest(endpoints.get(`${target.service}/${target.endpoint ?? ''}`), request),
    policy,
    info,
    fail,
    callOptions(request, reply, target): CallOptions {
      const p = policy(target);
      const timeoutMs = requestTimeout(request.headers, limits.maxTimeoutMs) ?? p.timeoutMs;
      const added = admitted.get(request);
      const metadata = { ...forward(request.headers), ...added };
      return {
        timeoutMs,
        idempotent: p.idempotent,
        metadata,
        signal: disconnectSignal(reply),
      };
    },
    async admit(seen): Promise<CallOptions> {
      const p = policy(seen.target);
      limit(seen, p);
      const added = p.authorize ? await p.authorize(seen) : undefined;
      const timeoutMs = requestTimeout(seen.headers, limits.maxTimeoutMs) ?? p.timeoutMs;
      return {
        timeoutMs,
        idempotent: p.idempotent,
        metadata: { ...forward(seen.headers), ...added },
      };
    },
    route(instance: FastifyInstance, spec: GatewayRouteSpec): void {
      instance.route({
        method: spec.method,
        url: spec.url,
        config: { gatewayTarget: spec.target },
        handler: async (request, reply) => {
          try {
            const target = spec.target(request);
            if (!target) throw notFound(request);
            const p = policy(target);
            const seen = info(request, target);
            limit(seen, p);
            if (p.authorize) {
              const added = await p.authorize(seen);
              if (added) admitted.set(request, added);
            }
            const out = await spec.handler(request, reply, target);
            if (!reply.sent) return reply.type('application/json').send(out ?? null);
            return reply;
          } catch (err) {
            return fail(reply, err);
          }
        },
      });
      // The preflight twin: fastify routes OPTIONS by path, so the CORS hook sees which route
      // (and, from Access-Control-Request-Method, which target) a preflight is about.
      let twin = optionsTwins.get(spec.url);
      if (!twin) {
        twin = new Map();
        optionsTwins.set(spec.url, twin);
        const targets = twin;
        instance.route({
          method: 'OPTIONS',
          url: spec.url,
          config: {
            gatewayTarget: (request: FastifyRequest) => {
              const asked = request.headers['access-control-request-method'];
              const pick =
                targets.get(String(asked ?? '').toUpperCase()) ?? [...targets.values()][0];
              return pick?.(request);
            },
          },
          // Reached only when the CORS hook did not answer: the route allows no cross-origin use.
          handler: async (request, reply) => fail(reply, notFound(request)),
        });
      }
      twin.set(spec.method, spec.target);
    },
  };

  void app.register(fastifyCors, {
    hideOptionsRoute: true,
    delegator: (request, callback) => {
      // An OPTIONS that is no preflight (no Origin or no Access-Control-Request-Method) is left
      // to the route, whose answer is typed, instead of the plug-in's plain-text 400.
      const h = request.headers;
      if (request.method === 'OPTIONS' && (!h.origin || !h['access-control-request-method'])) {
        callback(null, { origin: false });
        return;
      }
      const target = targetOf(request);
      const method = String(
        request.headers['access-control-request-method'] ?? request.method,
      ).toUpperCase();
      callback(
        null,
        corsOptions(target ? policy(target).cors : policy({ service: '' }).cors, method),
      );
    },
  });
  app.addHook('onRequest', async (request) => {
    if (request.url.length > limits.urlLength)
      throw new MicroError(
        GATEWAY_ERROR_ID,
        414,
        `the URL is longer than the gateway's limit of ${limits.urlLength} characters`,
      );
  });
  // JSON only. An empty body is no body (`{}` for go-micro's routes), as curl -X POST sends it.
  // Refusing text/plain (415) also means a browser cannot reach a route cross-origin with a
  // "simple" request that skips the CORS preflight.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') done(null, undefined);
    else parseJson(request, text, done);
  });
  app.setErrorHandler((err, _request, reply) => fail(reply, fastifyError(err)));
  app.setNotFoundHandler((request, reply) => fail(reply, notFound(request)));
  for (const routes of ROUTE_MODULES) routes(app, gw);

  let bound: string | undefined;
  return {
    async listen() {
      await app.listen({ host: listen.host, port: listen.port });
      const addr = app.server.address();
      if (addr === null || typeof addr === 'string') throw new Error('gateway: no TCP address');
      bound = joinHostPort(addr.address, addr.port);
      logger.info({ address: bound }, 'gateway listening');
      return bound;
    },
    get address() {
      return bound;
    },
    async close() {
      await app.close();
      bound = undefined;
    },
  };
}

function targetOf(request: FastifyRequest): RouteTarget | undefined {
  const fn = (request.routeOptions.config as { gatewayTarget?: GatewayRouteSpec['target'] })
    .gatewayTarget;
  return fn?.(request);
}

function notFound(request: FastifyRequest): MicroError {
  return MicroError.notFound(
    GATEWAY_ERROR_ID,
    `no route ${request.method} ${request.url.split('?')[0]}`,
  );
}

/**
 * A signal aborted when the HTTP client goes away before the reply is written: the call's
 * cancellation reaches the handler (its `ctx.signal`), so a closed tab stops the work it asked for.
 * The response's `close` is the one event that means this for every request (the request's own
 * `close` fires as soon as its body has been read).
 */
function disconnectSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const res = reply.raw;
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('the HTTP client disconnected'));
  });
  return controller.signal;
}

/** Fastify's own errors (body parsing, limits) as the gateway's typed errors. */
function fastifyError(err: unknown): unknown {
  if (MicroError.is(err)) return err;
  const status = (err as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500)
    return new MicroError(GATEWAY_ERROR_ID, status, (err as Error).message);
  return err;
}

/** Errors Node's HTTP parser raises before there is a request (head too big, too slow). */
function clientError(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const e =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new MicroError(GATEWAY_ERROR_ID, 431, 'the request head is larger than the gateway allows')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? MicroError.timeout(GATEWAY_ERROR_ID, 'the request did not arrive in time')
        : MicroError.badRequest(GATEWAY_ERROR_ID, 'malformed HTTP request');
  const body = JSON.stringify(errorBody(e));
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${e.code} ${e.status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.destroy();
}

function checkContracts(list: GatewayOptions['contracts']): GatewayOptions['contracts'] & {} {
  if (list === undefined) return [];
  if (!isList(list)) throw new InvalidOptionError('contracts', 'expected a list of contracts');
  list.forEach((c, i) => {
    if (typeof c !== 'object' || c === null || c.kind !== 'service')
      throw new InvalidOptionError(`contracts[${i}]`, 'expected a contract from defineService');
  });
  return list;
}

function silentLogger(): Logger {
  const l: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => l };
  return l;
}
