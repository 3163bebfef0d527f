import type { FastifyReply, FastifyRequest } from 'fastify';
import { MicroError } from '../errors.js';
import { inBatch } from './call-batch.js';
import type { RouteModule } from './context.js';
import { GATEWAY_ERROR_ID } from './errors.js';
import type { RouteTarget } from './options.js';

/**
 * go-micro's API routes: `POST /{service}/{Handler}/{Method}` and `POST
 * /{service}/{Handler.Method}` with the JSON request as the body, and `POST /rpc` with `{
 * service, endpoint, request }`. Handler and method are capitalised as go-micro does
 * (`/greeter/greeter/hello` calls `Greeter.Hello`). Only allowed services are reachable: any
 * other name is a 404, as for a route that does not exist.
 */
export const rpcRoutes: RouteModule = (app, gw) => {
  const answer =
    (bodyOf: (request: FastifyRequest) => unknown) =>
    async (request: FastifyRequest, reply: FastifyReply, target: RouteTarget) => {
      const body = await gw.validate(target, bodyOf(request));
      const opts = gw.callOptions(request, reply, target);
      return inBatch(() => gw.client.call(target.service, target.endpoint!, body, opts));
    };
  const allowedTarget = (service: string, endpoint: string | undefined): RouteTarget | undefined =>
    gw.allowed(service) && endpoint !== undefined ? { service, endpoint } : undefined;

  gw.route(app, {
    method: 'POST',
    url: '/:service/:handler/:method',
    target: (request) => {
      const p = request.params as { service: string; handler: string; method: string };
      return allowedTarget(p.service, endpointName(`${p.handler}.${p.method}`));
    },
    handler: answer((request) => request.body ?? {}),
  });
  gw.route(app, {
    method: 'POST',
    url: '/:service/:endpoint',
    target: (request) => {
      const p = request.params as { service: string; endpoint: string };
      return allowedTarget(p.service, endpointName(p.endpoint));
    },
    handler: answer((request) => request.body ?? {}),
  });
  gw.route(app, {
    method: 'POST',
    url: '/rpc',
    target: (request) => {
      const b = request.body as Record<string, unknown> | null | undefined;
      // A malformed envelope still has a target, so the reply says what is wrong with it.
      if (typeof b !== 'object' || b === null || Array.isArray(b))
        return { service: '', endpoint: '' };
      const service = typeof b.service === 'string' ? b.service : '';
      const endpoint = typeof b.endpoint === 'string' ? endpointName(b.endpoint) : undefined;
      if (service === '' || endpoint === undefined) return { service: '', endpoint: '' };
      return allowedTarget(service, endpoint);
    },
    handler: async (request, reply, target) => {
      if (target.service === '')
        throw MicroError.badRequest(
          GATEWAY_ERROR_ID,
          'POST /rpc expects a JSON body { "service": "greeter", "endpoint": "Greeter.Hello", "request": {...} }',
        );
      const b = request.body as { request?: unknown };
      return answer(() => b.request ?? {})(request, reply, target);
    },
  });
};

/** `greeter.hello` → `Greeter.Hello`; undefined when it is not `Handler.Method`. */
export function endpointName(text: string): string | undefined {
  const m = /^([A-Za-z_]\w*)\.([A-Za-z_]\w*)$/.exec(text);
  if (!m) return undefined;
  const cap = (s: string) => s[0].toUpperCase() + s.slice(1);
  return `${cap(m[1])}.${cap(m[2])}`;
}
