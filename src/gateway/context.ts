import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CallOptions, Client } from '../client/client.js';
import type { ServiceContract } from '../contract/define.js';
import type { Logger } from '../logger.js';
import type { Registry } from '../registry/registry.js';
import type { GatewayRequestInfo, RouteTarget } from './options.js';
import type { ContractEndpoint } from './endpoint-check.js';
import type { ResolvedLimits } from './limits.js';
import type { ResolvedPolicy } from './policy.js';

/**
 * The seam every group of routes plugs into: what the gateway resolved from its options, and the
 * steps each route shares (admission, call options, error replies). A route module is a
 * {@link RouteModule}; the gateway runs each on its fastify instance before listening.
 */
export interface GatewayContext {
  readonly client: Client;
  readonly registry?: Registry;
  readonly contracts: readonly ServiceContract[];
  readonly limits: ResolvedLimits;
  readonly logger: Logger;
  /** The exposed contract endpoint `target` names, if any. */
  contractEndpoint(target: RouteTarget): ContractEndpoint | undefined;
  /**
   * Validates a request to `target` with its contract's schema, when it has one: rejects with a
   * 400 naming the failing fields, before any call.
   */
  validate(target: RouteTarget, request: unknown): Promise<unknown>;
  /** The services go-micro's routes may reach (the allowed ones and the contracts'), sorted. */
  readonly services: readonly string[];
  /** True when go-micro's routes may reach `service`. */
  allowed(service: string): boolean;
  /** The policy of `target` (defaults, then the service's, then the endpoint's). */
  policy(target: RouteTarget): ResolvedPolicy;
  /**
   * Registers a route with the gateway's shared steps: CORS (and an OPTIONS twin for the
   * preflight), rate limit and the authorize hook before `handler`, typed error replies.
   * `target` names what a request to it calls (undefined: 404 for it).
   */
  route(app: FastifyInstance, spec: GatewayRouteSpec): void;
  /**
   * The call options for a request to `target`: metadata from the forwarded headers (and what
   * the authorize hook added), the deadline from `x-micro-timeout`/`timeout` or the policy, the
   * idempotency of the policy, and a signal aborted when the HTTP client goes away.
   */
  callOptions(request: FastifyRequest, reply: FastifyReply, target: RouteTarget): CallOptions;
  /**
   * Admits a request no fastify route answers (a WebSocket upgrade) as {@link GatewayContext.route}
   * does: the rate limit and the authorize hook of its target's policy (throwing their
   * MicroError); resolves with its call options (forwarded headers and the hook's metadata, the
   * deadline, the policy's idempotency). The caller adds its own cancellation signal.
   */
  admit(info: GatewayRequestInfo): Promise<CallOptions>;
  /** Replies with `err` as a typed MicroError JSON body and its HTTP status. */
  fail(reply: FastifyReply, err: unknown): FastifyReply;
  /** What policies and hooks see of `request`. */
  info(request: FastifyRequest, target: RouteTarget): GatewayRequestInfo;
}

/** One route registered through {@link GatewayContext.route}. */
export interface GatewayRouteSpec {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** A fastify path (`/users/:id`). */
  readonly url: string;
  /** What a request to the route calls, from its params; undefined when nothing (→ 404). */
  readonly target: (request: FastifyRequest) => RouteTarget | undefined;
  /**
   * Answers the request; what it resolves with is sent as JSON (unless it replied itself).
   * Throwing replies with the error (see {@link GatewayContext.fail}).
   */
  readonly handler: (
    request: FastifyRequest,
    reply: FastifyReply,
    target: RouteTarget,
  ) => Promise<unknown>;
}

/** A group of routes (go-micro's, the contracts', the streams'...). */
export type RouteModule = (app: FastifyInstance, gw: GatewayContext) => void;
