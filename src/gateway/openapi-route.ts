import type { Service } from '../registry/registry.js';
import type { RouteModule } from './context.js';
import { openApiDocument } from './openapi.js';

/**
 * `GET /openapi.json`: the document of what is exposed now (built per request, as the registry
 * changes: a service deployed later appears without restarting the gateway).
 */
export const openapiRoute: RouteModule = (app, gw) => {
  const described = new Set(gw.contracts.map((c) => c.name));
  gw.route(app, {
    method: 'GET',
    url: '/openapi.json',
    target: () => ({ service: '' }),
    handler: async () => {
      const registered: Service[] = [];
      if (gw.registry)
        for (const name of gw.services) {
          if (described.has(name)) continue;
          // The newest version's endpoints: the routes call whichever version the selector picks.
          const versions = await gw.registry.getService(name).catch(() => []);
          if (versions.length > 0) registered.push(versions[versions.length - 1]);
        }
      return openApiDocument({ title: 'tsmicro gateway', contracts: gw.contracts, registered });
    },
  });
};
