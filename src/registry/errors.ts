import { MicroError } from '../errors.js';
import type { RegisterOptions, Service } from './registry.js';

/** The errors the registries share: their id, a malformed registration (400), a closed registry. */

/** Error id of failures the built-in registries report. */
export const REGISTRY_ERROR_ID = 'tsmicro.registry';

/**
 * Checks what `register`/`deregister` were given and returns the TTL in ms (0 = none).
 * A malformed service would otherwise be stored and break every reader; it is a 400.
 */
export function checkRegistration(service: Service, opts?: RegisterOptions): number {
  const bad = (detail: string): MicroError => MicroError.badRequest(REGISTRY_ERROR_ID, detail);
  if (typeof service !== 'object' || service === null) throw bad('service must be an object');
  if (typeof service.name !== 'string' || service.name === '')
    throw bad('service name must be a non-empty string');
  if (typeof service.version !== 'string')
    throw bad(`service ${service.name}: version must be a string`);
  if (!Array.isArray(service.nodes)) throw bad(`service ${service.name}: nodes must be an array`);
  for (const node of service.nodes) {
    if (typeof node?.id !== 'string' || node.id === '')
      throw bad(`service ${service.name}: every node needs a non-empty id`);
  }
  const ttl = opts?.ttlMs ?? 0;
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 0)
    throw bad(`ttlMs must be a finite number ≥ 0, got ${String(ttl)}`);
  return ttl;
}

/** The error operations on a closed registry reject with. */
export function closedError(): MicroError {
  return MicroError.unavailable(REGISTRY_ERROR_ID, 'registry closed');
}
