import type { Broker } from '../broker/broker.js';
import type { Registry } from '../registry/registry.js';
import type { HealthCheck } from './check.js';

/** Settings of a built-in check; its name and probe are fixed. */
export type BuiltinCheckOptions = Pick<HealthCheck, 'critical' | 'timeoutMs' | 'intervalMs'>;

/**
 * `registry`: the registry answers a lookup of the service's own name — what go-micro's
 * `health.RegistryCheck` asks (it lists every service; one name is cheaper on a large Consul).
 * Not critical unless told: while the registry is down the node keeps serving callers that
 * already know it, and taking every node out of a Kubernetes Service for a registry outage would
 * turn a discovery problem into an outage.
 */
export function registryCheck(
  registry: Registry,
  service: string,
  opts: BuiltinCheckOptions,
): HealthCheck {
  return {
    ...opts,
    critical: opts.critical ?? false,
    name: 'registry',
    check: async () => {
      try {
        await registry.getService(service);
      } catch (err) {
        throw new Error(`registry ${registry.name} unreachable: ${(err as Error).message}`, {
          cause: err,
        });
      }
    },
  };
}

/**
 * `broker`: the broker is connected (its `ping()` answers). Only for brokers that have a `ping`:
 * the in-process memory broker has nothing to lose. Not critical unless told, as for the
 * registry: calls do not need the broker.
 */
export function brokerCheck(
  broker: Broker & { ping(): Promise<void> },
  opts: BuiltinCheckOptions,
): HealthCheck {
  return {
    ...opts,
    critical: opts.critical ?? false,
    name: 'broker',
    check: () => broker.ping(),
  };
}
