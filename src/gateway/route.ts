import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Metadata } from '../metadata.js';
import type { GatewayRouteSpec } from './context.js';
import { notFound } from './errors.js';
import type { GatewayRequestInfo, RouteTarget } from './options.js';
import type { ResolvedPolicy } from './policy.js';

/** What {@link routeRegistrar} runs each request through. */
export interface RouteSteps {
  policy(target: RouteTarget): ResolvedPolicy;
  info(request: FastifyRequest, target: RouteTarget): GatewayRequestInfo;
  /** Throws the 429 when the request is over its route's rate limit. */
  limit(info: GatewayRequestInfo, policy: ResolvedPolicy): void;
  fail(reply: FastifyReply, err: unknown): FastifyReply;
  /** Where the authorize hook's metadata is kept for the call. */
  admitted: WeakMap<FastifyRequest, Metadata>;
}

/** The route config key the CORS delegator reads a request's target from. */
export interface TargetConfig {
  gatewayTarget?: (request: FastifyRequest) => RouteTarget | undefined;
}

/**
 * Registers routes with the steps every one shares: target (404 when none), rate limit, authorize
 * hook, then the handler; a JSON reply of what it resolves with, or the typed error it throws.
 * Each path also gets an OPTIONS twin, so the CORS hook answers a preflight with the policy of
 * the route (and, by Access-Control-Request-Method, the target) it is about.
 */
export function routeRegistrar(
  steps: RouteSteps,
): (instance: FastifyInstance, spec: GatewayRouteSpec) => void {
  const twins = new Map<string, Map<string, GatewayRouteSpec['target']>>();
  return (instance, spec) => {
    instance.route({
      method: spec.method,
      url: spec.url,
      config: { gatewayTarget: spec.target } satisfies TargetConfig,
      handler: async (request, reply) => {
        try {
          const target = spec.target(request);
          if (!target) throw notFound(request);
          const added = await admission(steps, steps.info(request, target));
          if (added) steps.admitted.set(request, added);
          const out = await spec.handler(request, reply, target);
          if (!reply.sent) return reply.type('application/json').send(out ?? null);
          return reply;
        } catch (err) {
          return steps.fail(reply, err);
        }
      },
    });
    let targets = twins.get(spec.url);
    if (!targets) {
      const byMethod = new Map<string, GatewayRouteSpec['target']>();
      twins.set(spec.url, byMethod);
      targets = byMethod;
      instance.route({
        method: 'OPTIONS',
        url: spec.url,
        config: {
          gatewayTarget: (request) => {
            const asked = String(request.headers['access-control-request-method'] ?? '');
            const pick = byMethod.get(asked.toUpperCase()) ?? [...byMethod.values()][0];
            return pick?.(request);
          },
        } satisfies TargetConfig,
        // Reached only when the CORS hook did not answer: the route allows no cross-origin use.
        handler: async (request, reply) => steps.fail(reply, notFound(request)),
      });
    }
    targets.set(spec.method, spec.target);
  };
}

/**
 * The steps before any call: the rate limit of the target's policy (a 429), then its authorize
 * hook (its MicroError); resolves with the metadata the hook added.
 */
export async function admission(
  steps: Pick<RouteSteps, 'policy' | 'limit'>,
  seen: GatewayRequestInfo,
): Promise<Metadata | undefined> {
  const policy = steps.policy(seen.target);
  steps.limit(seen, policy);
  return policy.authorize ? ((await policy.authorize(seen)) ?? undefined) : undefined;
}

/** What policies and hooks see of `request`: repeated headers joined as HTTP joins them. */
export function requestInfo(request: FastifyRequest, target: RouteTarget): GatewayRequestInfo {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(request.headers))
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  return { method: request.method, url: request.url, headers, ip: request.ip, target };
}
