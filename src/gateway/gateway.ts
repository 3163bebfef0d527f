import type { FastifyReply, FastifyRequest } from 'fastify';
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
import { callOptionsOf, disconnectSignal } from './call-options.js';
import type { GatewayContext, RouteModule } from './context.js';
import { contractIdempotence, contractRoutes } from './contract-routes.js';
import { registerCors } from './cors.js';
import { checkedRequest, contractEndpoints } from './endpoint-check.js';
import { errorBody, fastifyError, httpErrorOf, notFound } from './errors.js';
import { headerRules } from './headers.js';
import { resolveLimits } from './limits.js';
import { openapiRoute } from './openapi-route.js';
import type { GatewayOptions } from './options.js';
import { policyTable } from './policy.js';
import { rateLimits, retryAfterOf } from './rate-limit.js';
import { registryRoutes } from './registry-routes.js';
import { admission, requestInfo, routeRegistrar } from './route.js';
import { rpcRoutes } from './rpc-routes.js';
import { gatewayServer } from './server.js';
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

  const fail = (reply: FastifyReply, err: unknown): FastifyReply => {
    const e = httpErrorOf(err);
    if (e.code >= 500 && !MicroError.is(err)) logger.error({ err }, 'gateway route failed');
    const retryAfter = retryAfterOf(err);
    if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
    return reply.code(e.code).type('application/json').send(errorBody(e));
  };

  const app = gatewayServer(limits, checkTrustProxy(options.trustProxy), fail);

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
    info: requestInfo,
    fail,
    callOptions: (request, reply, target) => ({
      ...callOptionsOf(
        request.headers,
        policy(target),
        forward,
        admitted.get(request),
        limits.maxTimeoutMs,
      ),
      signal: disconnectSignal(reply),
    }),
    async admit(seen) {
      const added = await admission({ policy, limit }, seen);
      return callOptionsOf(seen.headers, policy(seen.target), forward, added, limits.maxTimeoutMs);
    },
    route: routeRegistrar({ policy, info: requestInfo, limit, fail, admitted }),
  };
  registerCors(app, policy);
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

function checkTrustProxy(value: GatewayOptions['trustProxy']): boolean | readonly string[] {
  if (value === undefined || typeof value === 'boolean') return value ?? false;
  if (!isList(value) || !value.every((x) => typeof x === 'string' && x !== ''))
    throw new InvalidOptionError('trustProxy', 'expected true, or proxy addresses / CIDRs');
  return value;
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
