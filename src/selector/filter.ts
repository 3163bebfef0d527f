import { InvalidOptionError } from '../errors.js';
import { checkNumber, checkString } from '../options.js';
import type { Service } from '../registry/registry.js';
import type { Filter } from './selector.js';

/**
 * Filters narrow a service's versions and nodes before a strategy picks (go-micro's
 * `FilterVersion`, `FilterLabel`, `FilterEndpoint`), plus a weighted version split for canaries.
 * Each is checked when built; a filter that leaves nothing makes the call fail with 503.
 */

/** Keeps the versions named. */
export function byVersion(...versions: string[]): Filter {
  if (versions.length === 0)
    throw new InvalidOptionError('byVersion.versions', 'expected at least one version');
  versions.forEach((v, i) => checkString(`byVersion.versions[${i}]`, v));
  const wanted = new Set(versions);
  return (services) => services.filter((s) => wanted.has(s.version));
}

/**
 * Keeps nodes whose metadata has `key` = `value` (go-micro `FilterLabel`), dropping versions left
 * empty.
 */
export function byMetadata(key: string, value: string): Filter {
  checkString('byMetadata.key', key);
  if (typeof value !== 'string')
    throw new InvalidOptionError('byMetadata.value', 'expected a string');
  return (services) =>
    nonEmpty(
      services.map((s) => ({ ...s, nodes: s.nodes.filter((n) => n.metadata?.[key] === value) })),
    );
}

/** Keeps versions that serve `endpoint` (`Handler.Method`). */
export function byEndpoint(endpoint: string): Filter {
  checkString('byEndpoint.endpoint', endpoint);
  return (services) => services.filter((s) => s.endpoints?.some((e) => e.name === endpoint));
}

/**
 * Splits calls between versions by weight, e.g. `canary({ '1.0.0': 95, '2.0.0': 5 })` sends about
 * 95 % of calls to 1.0.0 and 5 % to 2.0.0. One version is drawn per call among those that have
 * nodes now (so a version with no nodes takes nothing and the rest share its part); versions not
 * named get no traffic while a named one has nodes, and all of it when none has.
 */
export function canary(
  split: Readonly<Record<string, number>>,
  random: () => number = Math.random,
): Filter {
  if (typeof split !== 'object' || split === null)
    throw new InvalidOptionError('canary.split', 'expected { version: weight }');
  const entries = Object.entries(split);
  if (entries.length === 0)
    throw new InvalidOptionError('canary.split', 'expected at least one version');
  for (const [version, weight] of entries) checkNumber(`canary.split.${version}`, weight, 0);
  if (entries.every(([, w]) => w === 0))
    throw new InvalidOptionError('canary.split', 'at least one weight must be > 0');
  return (services) => {
    const live = entries.filter(
      ([version, w]) => w > 0 && services.some((s) => s.version === version && s.nodes.length > 0),
    );
    if (live.length === 0) return services;
    const total = live.reduce((sum, [, w]) => sum + w, 0);
    let r = random() * total;
    let chosen = live[live.length - 1][0];
    for (const [version, w] of live) {
      r -= w;
      if (r < 0) {
        chosen = version;
        break;
      }
    }
    return services.filter((s) => s.version === chosen);
  };
}

function nonEmpty(services: Service[]): Service[] {
  return services.filter((s) => s.nodes.length > 0);
}
