import type { FastifyCorsOptions } from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CorsPolicy, RouteTarget } from './options.js';
import { fastifyCors } from './peers.js';
import type { ResolvedPolicy } from './policy.js';
import type { TargetConfig } from './route.js';

/**
 * CORS by route: @fastify/cors with a delegator that gives each request the policy of the route
 * it reached (read from the route's config), the gateway's defaults for paths no route serves.
 */
export function registerCors(
  app: FastifyInstance,
  policy: (target: RouteTarget) => ResolvedPolicy,
): void {
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
      const target = targetOf(request) ?? { service: '' };
      const method = String(request.headers['access-control-request-method'] ?? request.method);
      callback(null, corsOptions(policy(target).cors, method.toUpperCase()));
    },
  });
}

function targetOf(request: FastifyRequest): RouteTarget | undefined {
  return (request.routeOptions.config as TargetConfig).gatewayTarget?.(request);
}

/**
 * The `@fastify/cors` options of a route's {@link CorsPolicy}, or `{ origin: false }` (no CORS
 * headers at all, so a browser refuses the cross-origin read) when the route has none. An origin
 * not in the list gets no `Access-Control-Allow-Origin`, which is how a browser learns it is
 * refused; the request itself is still answered, as CORS leaves the refusing to the browser.
 */
export function corsOptions(policy: CorsPolicy | false, method: string): FastifyCorsOptions {
  if (policy === false) return { origin: false };
  return {
    origin:
      policy.origins === '*' || policy.origins === true ? policy.origins : [...policy.origins],
    methods: policy.methods ? [...policy.methods] : [method],
    ...(policy.headers ? { allowedHeaders: [...policy.headers] } : {}),
    ...(policy.exposedHeaders ? { exposedHeaders: [...policy.exposedHeaders] } : {}),
    credentials: policy.credentials ?? false,
    ...(policy.maxAgeSec !== undefined ? { maxAge: policy.maxAgeSec } : {}),
  };
}
