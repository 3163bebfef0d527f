import { DEFAULTS } from '../defaults.js';
import { CLIENT_ERROR_ID, InvalidOptionError, MicroError } from '../errors.js';
import type { Logger } from '../logger.js';
import { checkComponent, checkFunction, checkNumber } from '../options.js';
import type { Node, Registry, Service } from '../registry/registry.js';
import { ServiceCache } from './cache.js';
import type { Next, SelectOptions, Selector, Strategy } from './selector.js';
import { random } from './strategy.js';

/** Options for {@link registrySelector}. */
export interface RegistrySelectorOptions {
  /** Where services are looked up. */
  registry: Registry;
  /** How a node is picked. @defaultValue random */
  strategy?: Strategy;
  /** How long a cached service list is used without a registry update, in ms. @defaultValue 60000 */
  cacheTtlMs?: number;
  /** Where cache warnings go. */
  logger?: Logger;
}

/**
 * The default selector: registry lookups through a watch-fed cache, filters, then a strategy.
 */
export function registrySelector(opts: RegistrySelectorOptions): Selector {
  const registry = checkComponent('selector.registry', opts?.registry, ['getService', 'watch']);
  if (!registry) throw new InvalidOptionError('selector.registry', 'a registry is required');
  const strategy = checkFunction('selector.strategy', opts.strategy) ?? random;
  const ttl = checkNumber('selector.cacheTtlMs', opts.cacheTtlMs, 0) ?? DEFAULTS.selectorCacheTtlMs;
  const cache = new ServiceCache(registry, ttl, opts.logger);

  return {
    async select(service: string, selectOpts?: SelectOptions): Promise<Next> {
      let services: Service[] = await cache.get(service).catch((err: unknown) => {
        throw new MicroError(CLIENT_ERROR_ID, 503, `error selecting ${service} node: ${errorText(err)}`, undefined, { cause: err });
      });
      if (services.length === 0) throw MicroError.unavailable(CLIENT_ERROR_ID, `service ${service}: not found`);
      for (const filter of selectOpts?.filters ?? []) services = filter(services);
      const nodes: Node[] = services.flatMap((s) => s.nodes);
      if (nodes.length === 0) throw MicroError.unavailable(CLIENT_ERROR_ID, `service ${service}: none available`);
      return strategy(nodes);
    },
    mark(): void {},
    reset(service: string): void {
      cache.invalidate(service);
    },
    async close(): Promise<void> {
      cache.close();
    },
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
