import type { Client } from '../client/client.js';
import type { ServiceContract } from '../contract/define.js';
import type { Logger } from '../logger.js';
import type { Metadata } from '../metadata.js';
import type { Registry } from '../registry/registry.js';

/**
 * The options of {@link createGateway}: what is exposed (services by name, contracts with their
 * HTTP routes), the client behind every route, and the edge's policies and limits.
 */

/** What a route calls: a service, and the endpoint when the route names one. */
export interface RouteTarget {
  readonly service: string;
  /** `Handler.Method`; absent for routes about a whole service (`GET /{service}`). */
  readonly endpoint?: string;
}

/** CORS of a route (see `@fastify/cors`, which applies it). */
export interface CorsPolicy {
  /** Allowed origins: exact origins, `'*'` for any, or `true` to reflect the request's origin. */
  readonly origins: readonly string[] | '*' | true;
  /** Allowed methods. @defaultValue the route's own method */
  readonly methods?: readonly string[];
  /** Request headers a browser may send. @defaultValue what the preflight asks for */
  readonly headers?: readonly string[];
  /** Response headers a page may read. @defaultValue none */
  readonly exposedHeaders?: readonly string[];
  /** Send `Access-Control-Allow-Credentials: true`. @defaultValue false */
  readonly credentials?: boolean;
  /** How long a browser may cache the preflight, seconds (`Access-Control-Max-Age`). */
  readonly maxAgeSec?: number;
}

/** A rate limit: at most `points` requests per `windowMs` per key. */
export interface RateLimitPolicy {
  readonly points: number;
  readonly windowMs: number;
  /**
   * Whose budget a request spends. @defaultValue the client's IP address. The route target is
   * always part of the key, so each route (policy) has budgets of its own.
   */
  readonly key?: (request: GatewayRequestInfo) => string;
}

/** What policies and hooks see of an HTTP request. */
export interface GatewayRequestInfo {
  readonly method: string;
  /** The path and query as received. */
  readonly url: string;
  /** Lowercased header names; repeated headers joined with `, `. */
  readonly headers: Readonly<Record<string, string>>;
  /** The peer's IP address. */
  readonly ip: string;
  readonly target: RouteTarget;
}

/**
 * The application's own admission check, run after rate limiting and before validation and the
 * call: throw a MicroError (401, 403, ...) to refuse; resolve with metadata to add it to the call
 * (e.g. the verified subject). Bearer tokens are also forwarded as `authorization` metadata, so
 * services guarded by `authHandler` (tsmicro/wrappers/auth) answer 401/403 themselves.
 */
export type AuthorizeHook = (
  request: GatewayRequestInfo,
) => void | Metadata | Promise<void | Metadata>;

/** Per-route policy; {@link GatewayOptions.routes} maps targets to these. */
export interface RoutePolicy {
  /**
   * Deadline of a call when the request names none, ms. @defaultValue the client's own
   * (`ClientOptions.timeoutMs`, 5000 unless configured)
   */
  readonly timeoutMs?: number;
  /**
   * The endpoint may run twice without harm: the client retries it on another node after a
   * timeout or a 500 too (a contract endpoint's own `idempotent` is the default).
   */
  readonly idempotent?: boolean;
  /** CORS for the route; `false` for none. */
  readonly cors?: CorsPolicy | false;
  /** Rate limit for the route; `false` for none. */
  readonly rateLimit?: RateLimitPolicy | false;
  /** Admission check for the route; `false` for none. */
  readonly authorize?: AuthorizeHook | false;
}

/** Limits that protect the gateway itself. */
export interface GatewayLimits {
  /** Largest request body, bytes; bigger → 413. @defaultValue 1 MiB */
  readonly bodyBytes?: number;
  /** Largest request head (request line and headers), bytes; bigger → 431. @defaultValue 16 KiB */
  readonly headerBytes?: number;
  /** Longest URL (path and query), characters; longer → 414. @defaultValue 4096 */
  readonly urlLength?: number;
  /** A request's headers must arrive within this, ms (slow-loris guard). @defaultValue 10000 */
  readonly headersTimeoutMs?: number;
  /** A whole request (headers and body) must arrive within this, ms. @defaultValue 30000 */
  readonly requestTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this, ms. @defaultValue 5000 */
  readonly keepAliveTimeoutMs?: number;
  /** Largest deadline a request may ask for in a header, ms. @defaultValue 60000 */
  readonly maxTimeoutMs?: number;
}

/** Options for {@link createGateway}. */
export interface GatewayOptions {
  /** The client behind every route: its selector, budgets, retries and wrappers apply. Required. */
  readonly client: Client;
  /**
   * Where `GET /`, `GET /{service}` and the OpenAPI document read services and endpoint schemas
   * from. Without one those routes list only the contracts.
   */
  readonly registry?: Registry;
  /**
   * Services reachable through go-micro's routes (`POST /{service}/{Handler}/{Method}`, `POST
   * /rpc`) and listed by `GET /`. Nothing else is reachable there. @defaultValue none
   */
  readonly services?: readonly string[];
  /**
   * Contracts exposed: their endpoints' HTTP routes (`http` in the endpoint definition) and,
   * their service being allowed too, go-micro's routes with validation by the contract's schema.
   */
  readonly contracts?: readonly ServiceContract[];
  /** `host:port` to listen on; port 0 picks a free one. @defaultValue `127.0.0.1:8080` */
  readonly address?: string;
  /** Policy of every route, under the more specific {@link GatewayOptions.routes}. */
  readonly defaults?: RoutePolicy;
  /**
   * Policies by target: `service` for all of its endpoints, `service/Handler.Method` for one.
   * The most specific match wins, field by field, over {@link GatewayOptions.defaults}.
   */
  readonly routes?: Readonly<Record<string, RoutePolicy>>;
  /**
   * Headers passed to the call as metadata, by exact (case-insensitive) name.
   * @defaultValue `['authorization', 'traceparent', 'tracestate', 'baggage']`
   */
  readonly forwardHeaders?: readonly string[];
  /**
   * Header name prefixes passed as metadata, as go-micro's API passes `x-` headers.
   * The gateway's own control headers (`x-micro-timeout`) are never passed.
   * @defaultValue `['x-']`
   */
  readonly forwardPrefixes?: readonly string[];
  readonly limits?: GatewayLimits;
  /**
   * The proxies in front of the gateway, by address or CIDR (`['10.0.0.0/8']`), or `true` for
   * any: a request through one has the client's address from `X-Forwarded-For` as its `ip` (what
   * rate limits key by default). @defaultValue none (the peer's address is the client's)
   */
  readonly trustProxy?: boolean | readonly string[];
  /** Where the gateway logs. @defaultValue silent */
  readonly logger?: Logger;
}
