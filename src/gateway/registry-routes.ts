import { MicroError } from '../errors.js';
import { endpointSchemas } from '../registry/endpoint-schemas.js';
import type { Service } from '../registry/registry.js';
import type { GatewayContext, RouteModule } from './context.js';
import { GATEWAY_ERROR_ID } from './errors.js';

/**
 * `GET /` lists the services the gateway serves; `GET /{service}` describes one from the
 * registry: each version's endpoints with their request/response JSON Schemas and how many nodes
 * run it. Node addresses are not shown: they are the inside of the network the gateway fronts.
 */
export const registryRoutes: RouteModule = (app, gw) => {
  gw.route(app, {
    method: 'GET',
    url: '/',
    target: () => ({ service: '' }),
    handler: async () => ({ services: await listed(gw) }),
  });
  gw.route(app, {
    method: 'GET',
    url: '/:service',
    target: (request) => {
      const { service } = request.params as { service: string };
      return gw.allowed(service) ? { service } : undefined;
    },
    handler: async (_request, _reply, target) => {
      const versions = gw.registry ? await gw.registry.getService(target.service) : [];
      if (versions.length === 0)
        throw MicroError.notFound(GATEWAY_ERROR_ID, `service ${target.service} is not registered`);
      return { name: target.service, versions: versions.map(describe) };
    },
  });
};

/** The allowed services that are registered now (without a registry: every allowed one). */
async function listed(gw: GatewayContext): Promise<{ name: string }[]> {
  if (!gw.registry) return gw.services.map((name) => ({ name }));
  const registered = new Set((await gw.registry.listServices()).map((s) => s.name));
  return gw.services.filter((name) => registered.has(name)).map((name) => ({ name }));
}

function describe(s: Service) {
  return {
    version: s.version,
    metadata: s.metadata ?? {},
    nodes: s.nodes.length,
    endpoints: s.endpoints.map((e) => ({
      name: e.name,
      metadata: e.metadata,
      schemas: endpointSchemas(e),
    })),
  };
}
