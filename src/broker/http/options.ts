import { DEFAULTS, HTTP_BROKER_DEFAULTS } from '../../defaults.js';
import { InvalidOptionError } from '../../errors.js';
import { defaultLogger, type Logger } from '../../logger.js';
import { checkAddress, checkComponent, checkFunction, checkInteger } from '../../options.js';
import type { Registry } from '../../registry/registry.js';

/** Options for {@link httpBroker}. */
export interface HttpBrokerOptions {
  /**
   * Where subscriptions are registered and publishers look them up (go-micro's service
   * `micro.http.broker`). Use the service's registry: `createService` passes its own.
   */
  registry: Registry;
  /**
   * `host:port` the broker listens on once something subscribes; port 0 picks a free one.
   * @defaultValue `'127.0.0.1:0'` (go-micro's), so only processes of this host can deliver
   */
  address?: string;
  /**
   * `host:port` registered for publishers to dial, when the bound address is not it (NAT, a
   * container's mapped port). @defaultValue the bound address; a wildcard host (`0.0.0.0`, `::`)
   * is replaced by a private IPv4 of this host, as go-micro does
   */
  advertise?: string;
  /** TTL of each subscription's registry entry, ms. @defaultValue 60_000 (go-micro's) */
  registerTtlMs?: number;
  /** How often each subscription is registered again, ms; below the TTL. @defaultValue 30_000 */
  registerIntervalMs?: number;
  /**
   * How long a publish waits for one subscriber to answer, its handler included, ms; past it the
   * publish fails with 504. @defaultValue 10_000
   */
  deliveryTimeoutMs?: number;
  /**
   * How long a subscriber that could not be reached is left out of delivery while the registry
   * still lists it, ms. @defaultValue 60_000 (one registration TTL)
   */
  deadNodeMs?: number;
  /** Largest request body the broker accepts, bytes; larger is 413. @defaultValue 4 MiB */
  maxBodyBytes?: number;
  /** Where registration trouble, bad requests and unreachable subscribers are logged. */
  logger?: Logger;
  /** Called when a handler rejects (after the broker counted it). @defaultValue none */
  onError?: (err: unknown, topic: string) => void;
}

/** {@link HttpBrokerOptions} with every default filled in. */
export interface ResolvedHttpBrokerOptions {
  registry: Registry;
  address: string;
  advertise: string | undefined;
  registerTtlMs: number;
  registerIntervalMs: number;
  deliveryTimeoutMs: number;
  deadNodeMs: number;
  maxBodyBytes: number;
  logger: Logger;
  onError: ((err: unknown, topic: string) => void) | undefined;
}

/** Validates and completes the options once, at construction (InvalidOptionError naming one). */
export function resolveHttpBrokerOptions(opts: HttpBrokerOptions): ResolvedHttpBrokerOptions {
  if (typeof opts !== 'object' || opts === null)
    throw new InvalidOptionError('httpBroker', 'expected an options object');
  const registry = checkComponent('httpBroker.registry', opts.registry, [
    'register',
    'deregister',
    'getService',
    'watch',
  ]);
  if (!registry)
    throw new InvalidOptionError(
      'httpBroker.registry',
      'a registry is required: subscribers register there and publishers find them there',
    );
  const d = HTTP_BROKER_DEFAULTS;
  const registerTtlMs =
    checkInteger('httpBroker.registerTtlMs', opts.registerTtlMs, 1) ?? d.registerTtlMs;
  const registerIntervalMs =
    checkInteger('httpBroker.registerIntervalMs', opts.registerIntervalMs, 1) ??
    Math.min(d.registerIntervalMs, Math.floor(registerTtlMs / 2));
  if (registerIntervalMs >= registerTtlMs)
    throw new InvalidOptionError(
      'httpBroker.registerIntervalMs',
      `must be below registerTtlMs (${registerTtlMs} ms) so entries are renewed before they expire, got ${registerIntervalMs}`,
    );
  return {
    registry,
    address: checkAddress('httpBroker.address', opts.address) ?? d.address,
    advertise: checkAdvertise(opts.advertise),
    registerTtlMs,
    registerIntervalMs,
    deliveryTimeoutMs:
      checkInteger('httpBroker.deliveryTimeoutMs', opts.deliveryTimeoutMs, 1) ??
      d.deliveryTimeoutMs,
    deadNodeMs: checkInteger('httpBroker.deadNodeMs', opts.deadNodeMs, 0) ?? d.deadNodeMs,
    maxBodyBytes:
      checkInteger('httpBroker.maxBodyBytes', opts.maxBodyBytes, 1) ?? DEFAULTS.maxMessageBytes,
    logger:
      checkComponent('httpBroker.logger', opts.logger, ['warn', 'error']) ??
      defaultLogger({ component: 'broker/http' }),
    onError: checkFunction('httpBroker.onError', opts.onError),
  };
}

function checkAdvertise(value: unknown): string | undefined {
  const address = checkAddress('httpBroker.advertise', value);
  if (address !== undefined && /:0$/.test(address))
    throw new InvalidOptionError('httpBroker.advertise', `needs a real port, got ${address}`);
  return address;
}
