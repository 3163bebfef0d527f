import { InvalidOptionError } from '../errors.js';
import { checkRegistryName } from '../options.js';
import { checkHedge, type HedgeOptions } from '../client/tail-options.js';
import { isSchema, type Schema } from './schema.js';

/**
 * Which way an endpoint streams: `server` (one request, many responses), `client` (many requests,
 * one response) or `bidi` (many each way). Omitted for a unary endpoint.
 */
export type StreamKind = 'server' | 'client' | 'bidi';

/** One endpoint of a contract, `Handler.Method`. */
export interface EndpointDefinition<
  Req extends Schema = Schema,
  Res extends Schema = Schema,
  Stream extends StreamKind | undefined = StreamKind | undefined,
> {
  /** The request (for a client or bidi stream: each message the caller sends). */
  readonly request: Req;
  /** The response (for a server or bidi stream: each message the handler sends). */
  readonly response: Res;
  /** How the endpoint streams; omit for request → response. */
  readonly stream?: Stream;
  /**
   * Running it twice is harmless, so a client may retry it after a timeout or a 500 (see
   * `CallOptions.idempotent`, which this sets the default of for the endpoint's calls).
   * @defaultValue false
   */
  readonly idempotent?: boolean;
  /**
   * Hedge its calls (see `CallOptions.hedge`, which this sets the default of for the endpoint's
   * calls); only an idempotent endpoint may be hedged. @defaultValue none
   */
  readonly hedge?: HedgeOptions;
  /** What the endpoint does; published in the registry as endpoint metadata `description`. */
  readonly description?: string;
  /**
   * The endpoint's own HTTP route on a gateway (tsmicro/gateway), besides go-micro's
   * `POST /{service}/{Handler}/{Method}`: path parameters, query and JSON body are merged into
   * the request and validated with `request` before the call.
   */
  readonly http?: HttpRoute;
}

/** Methods an {@link HttpRoute} may use. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** An endpoint's HTTP route, e.g. `{ method: 'GET', path: '/users/:id' }`. */
export interface HttpRoute {
  readonly method: HttpMethod;
  /** Starts with `/`; `:name` segments are path parameters, merged into the request by name. */
  readonly path: string;
}

/** The handlers of a contract: handler name → method name → endpoint. */
export type HandlerDefinitions = Readonly<
  Record<string, Readonly<Record<string, EndpointDefinition>>>
>;

/** A service contract, made with {@link defineService}. */
export interface ServiceContract<H extends HandlerDefinitions = HandlerDefinitions> {
  readonly kind: 'service';
  /** The service name clients resolve (`greeter`, `go.micro.srv.greeter`). */
  readonly name: string;
  readonly handlers: H;
}

/** A topic contract, made with {@link defineTopic}. */
export interface TopicContract<S extends Schema = Schema> {
  readonly kind: 'topic';
  /** The broker topic. */
  readonly topic: string;
  /** Each event on the topic. */
  readonly event: S;
}

/**
 * Defines a service: its name and, per `Handler.Method`, the request and response schemas, how it
 * streams and whether it is idempotent. The one value both sides import: {@link clientFor} makes
 * its typed client and {@link implement} registers its typed handlers.
 *
 * Throws InvalidOptionError naming the first malformed part (`defineService.handlers.Greeter.Hello.request`).
 *
 * @example
 * ```ts
 * import { z } from 'zod';
 * export const Greeter = defineService('greeter', {
 *   Greeter: {
 *     Hello: { request: z.object({ name: z.string() }), response: z.object({ msg: z.string() }) },
 *   },
 * });
 * ```
 */
export function defineService<const H extends HandlerDefinitions>(
  name: string,
  handlers: H,
): ServiceContract<H> {
  checkRegistryName('defineService.name', name);
  if (name === undefined)
    throw new InvalidOptionError('defineService.name', 'expected a service name');
  if (typeof handlers !== 'object' || handlers === null)
    throw new InvalidOptionError(
      'defineService.handlers',
      'expected { Handler: { Method: endpoint } }',
    );
  const handlerNames = Object.keys(handlers);
  if (handlerNames.length === 0)
    throw new InvalidOptionError('defineService.handlers', 'expected at least one handler');
  for (const handler of handlerNames) {
    const at = `defineService.handlers.${handler}`;
    checkIdentifier(at, handler);
    const methods: unknown = handlers[handler];
    if (typeof methods !== 'object' || methods === null || Object.keys(methods).length === 0)
      throw new InvalidOptionError(
        at,
        'expected { Method: { request, response } } with at least one method',
      );
    for (const [method, endpoint] of Object.entries(methods)) {
      checkIdentifier(`${at}.${method}`, method);
      checkEndpoint(`${at}.${method}`, endpoint);
    }
  }
  return Object.freeze({ kind: 'service', name, handlers });
}

/**
 * Defines a broker topic and the schema of its events: {@link clientFor} makes its typed
 * publisher, {@link implement} subscribes a typed subscriber that only ever sees valid events.
 */
export function defineTopic<const S extends Schema>(topic: string, event: S): TopicContract<S> {
  if (typeof topic !== 'string' || topic === '')
    throw new InvalidOptionError('defineTopic.topic', 'expected a non-empty topic name');
  if (!isSchema(event)) throw new InvalidOptionError('defineTopic.event', SCHEMA_EXPECTED);
  return Object.freeze({ kind: 'topic', topic, event });
}

const SCHEMA_EXPECTED = 'expected a Standard Schema (Zod, Valibot, ArkType, ...) or ofType<T>()';

/** The shape of a handler or method name: what go-micro's reflection serves (an exported name). */
function checkIdentifier(at: string, name: string): void {
  if (!/^[A-Za-z_]\w*$/.test(name))
    throw new InvalidOptionError(
      at,
      `expected an identifier like "Greeter" or "Hello", got ${JSON.stringify(name)}`,
    );
}

function checkEndpoint(at: string, endpoint: unknown): void {
  if (typeof endpoint !== 'object' || endpoint === null)
    throw new InvalidOptionError(at, 'expected { request, response }');
  const e = endpoint as Record<string, unknown>;
  if (!isSchema(e.request)) throw new InvalidOptionError(`${at}.request`, SCHEMA_EXPECTED);
  if (!isSchema(e.response)) throw new InvalidOptionError(`${at}.response`, SCHEMA_EXPECTED);
  if (
    e.stream !== undefined &&
    e.stream !== 'server' &&
    e.stream !== 'client' &&
    e.stream !== 'bidi'
  )
    throw new InvalidOptionError(
      `${at}.stream`,
      `expected "server", "client" or "bidi", got ${JSON.stringify(e.stream)}`,
    );
  if (e.idempotent !== undefined && typeof e.idempotent !== 'boolean')
    throw new InvalidOptionError(`${at}.idempotent`, 'expected a boolean');
  if (checkHedge(`${at}.hedge`, e.hedge) && e.idempotent !== true)
    throw new InvalidOptionError(
      `${at}.hedge`,
      'only an idempotent endpoint may be hedged (set idempotent: true)',
    );
  if (e.description !== undefined && typeof e.description !== 'string')
    throw new InvalidOptionError(`${at}.description`, 'expected a string');
  if (e.http !== undefined) checkHttpRoute(`${at}.http`, e.http);
}

const HTTP_METHODS: readonly string[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

function checkHttpRoute(at: string, route: unknown): void {
  if (typeof route !== 'object' || route === null)
    throw new InvalidOptionError(at, "expected { method: 'GET', path: '/users/:id' }");
  const r = route as Record<string, unknown>;
  if (typeof r.method !== 'string' || !HTTP_METHODS.includes(r.method))
    throw new InvalidOptionError(
      `${at}.method`,
      `expected one of ${HTTP_METHODS.join(', ')}, got ${JSON.stringify(r.method)}`,
    );
  // Segments are literal text or `:name`; nothing fastify would read as a wildcard or regex.
  if (
    typeof r.path !== 'string' ||
    !/^(\/(?:[A-Za-z0-9._~-]+|:[A-Za-z_]\w*))+\/?$|^\/$/.test(r.path)
  )
    throw new InvalidOptionError(
      `${at}.path`,
      `expected a path like "/users/:id" (literal segments and :params), got ${JSON.stringify(r.path)}`,
    );
}
