import { InvalidOptionError } from '../errors.js';
import { checkAddress, isList } from '../options.js';
import type { BuiltinCheckOptions } from './builtin.js';
import type { HealthCheck } from './check.js';

/**
 * Health options of a server or service (`createService({ health: {...} })`). Everything is
 * optional: with none, the node has the built-in checks, answers grpc.health.v1 on its gRPC
 * port and `Debug.Health`, and leaves the registry while not ready; the HTTP surface is off.
 */
export interface HealthOptions {
  /**
   * `host:port` of the HTTP surface — `/health`, `/health/live`, `/health/ready` — for
   * Kubernetes httpGet probes; port 0 picks a free one (read it from `health.httpAddress`).
   * Off when absent. In a container listen on `0.0.0.0:<port>`, as the kubelet probes the pod IP.
   */
  httpAddress?: string;
  /** Checks added at creation; the same as calling `service.health.addCheck` for each. */
  checks?: readonly HealthCheck[];
  /**
   * The built-in `registry` check (a lookup of the service's own name), or false for none.
   * @defaultValue `{ critical: false }` with the check defaults
   */
  registryCheck?: BuiltinCheckOptions | false;
  /**
   * The built-in `broker` check (the broker's `ping()`; brokers without one get none), or false
   * for none. @defaultValue `{ critical: false }` with the check defaults
   */
  brokerCheck?: BuiltinCheckOptions | false;
}

/** `opts` validated: a bad field fails at creation, named `health.<field>`. */
export function checkHealthOptions(opts: HealthOptions | undefined): HealthOptions {
  if (opts === undefined) return {};
  if (typeof opts !== 'object' || opts === null)
    throw new InvalidOptionError('health', 'expected an object');
  const httpAddress = checkAddress('health.httpAddress', opts.httpAddress);
  if (opts.checks !== undefined && !isList(opts.checks))
    throw new InvalidOptionError('health.checks', 'expected an array of checks');
  for (const key of ['registryCheck', 'brokerCheck'] as const) {
    const v = opts[key];
    if (v !== undefined && v !== false && (typeof v !== 'object' || v === null))
      throw new InvalidOptionError(
        `health.${key}`,
        'expected false or { critical?, timeoutMs?, intervalMs? }',
      );
  }
  return { ...opts, ...(httpAddress !== undefined ? { httpAddress } : {}) };
}
