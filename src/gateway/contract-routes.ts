import { InvalidOptionError, MicroError } from '../errors.js';
import type { ServiceContract } from '../contract/define.js';
import type { RouteModule } from './context.js';
import { contractEndpoints } from './endpoint-check.js';
import { GATEWAY_ERROR_ID } from './errors.js';
import type { RouteTarget } from './options.js';

/**
 * The HTTP routes contracts name (`http: { method: 'GET', path: '/users/:id' }`), for unary
 * endpoints: the query, the JSON body (an object) and the path parameters are merged into one
 * request, in that order (a path parameter wins over a body field of the same name, so the URL
 * says which resource), validated with the endpoint's schema, then called.
 */
export const contractRoutes: RouteModule = (app, gw) => {
  for (const found of contractEndpoints(gw.contracts).values()) {
    const { http, stream } = found.definition;
    if (!http || stream !== undefined) continue;
    const target: RouteTarget = { service: found.contract.name, endpoint: found.endpoint };
    try {
      gw.route(app, {
        method: http.method,
        url: http.path,
        target: () => target,
        handler: async (request, reply) => {
          const body = request.body;
          if (
            body !== undefined &&
            (typeof body !== 'object' || body === null || Array.isArray(body))
          )
            throw MicroError.badRequest(
              GATEWAY_ERROR_ID,
              `${http.method} ${http.path} expects a JSON object body (merged with the path and query)`,
            );
          const merged = {
            ...(request.query as Record<string, unknown>),
            ...(body as Record<string, unknown> | undefined),
            ...(request.params as Record<string, unknown>),
          };
          const checked = await gw.validate(target, merged);
          return gw.client.call(
            target.service,
            found.endpoint,
            checked,
            gw.callOptions(request, reply, target),
          );
        },
      });
    } catch (err) {
      // Two contracts (or a contract and a gateway route) claiming one method and path.
      throw new InvalidOptionError(
        `contracts.${found.contract.name}.${found.endpoint}.http`,
        `${http.method} ${http.path} conflicts with another route: ${(err as Error).message}`,
      );
    }
  }
};

/** The `idempotent` a contract gives an endpoint, for the policy table. */
export function contractIdempotence(
  contracts: readonly ServiceContract[],
): (target: RouteTarget) => boolean | undefined {
  const endpoints = contractEndpoints(contracts);
  return (target) =>
    endpoints.get(`${target.service}/${target.endpoint ?? ''}`)?.definition.idempotent;
}
