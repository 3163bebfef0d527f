import type { Broker } from '../broker/broker.js';
import { DEFAULTS } from '../defaults.js';
import { InvalidOptionError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Registry } from '../registry/registry.js';
import type { Transport } from '../transport/transport.js';
import { planBroker, planRegistry, redact, transportFromConfig } from './components.js';
import { deferredBroker, deferredRegistry } from './deferred.js';
import {
  readConfig,
  SETTING_KEYS,
  type Config,
  type ConfigSources,
  type ConfigValues,
} from './read.js';
import { SETTINGS, type ProfileChoice } from './settings.js';

/**
 * How `createService` applies the settings: read once, before anything is built; an option set
 * in code wins, then a flag, then a variable, then the default. What was resolved, and from
 * where, is kept for the one `configuration` line the service logs at start.
 */

/** The options the settings can give, as the service takes them. */
export interface ConfiguredOptions {
  name?: string;
  id?: string;
  version?: string;
  address?: string;
  advertise?: string;
  metadata?: Record<string, string>;
  registerTtlMs?: number;
  registerIntervalMs?: number;
  timeoutMs?: number;
  retries?: number;
}

/** One resolved setting, as logged: never a credential. */
export interface ResolvedSetting {
  value: string;
  from: 'code' | 'flag' | 'env' | 'default';
}

/** The settings applied to one service's options. */
export interface ServiceConfig {
  readonly config: Config;
  /** The options code did not set, from flags and environment. */
  readonly options: ConfiguredOptions;
  /** The registry the settings name, when code gave none. */
  registry(logger: Logger): Registry | undefined;
  /** The broker the settings name, when code gave none. */
  broker(registry: Registry, logger: Logger): Broker | undefined;
  /** The transport the settings name, when code gave none. */
  transport(): Transport | undefined;
  /**
   * Resolves once the registry and broker made from the settings are loaded; rejects as their
   * load did (a missing package, named by its setting), so start() fails before it listens.
   */
  loaded(): Promise<void>;
  /** By flag name, for the start-up log; components as the service ended up with them. */
  summary(components: {
    registry: Registry;
    broker: Broker;
    transport: Transport;
  }): Record<string, ResolvedSetting>;
}

const SCALARS = [
  'name',
  'id',
  'version',
  'address',
  'advertise',
  'registerTtlMs',
  'registerIntervalMs',
  'timeoutMs',
  'retries',
] as const satisfies readonly (keyof ConfiguredOptions & keyof ConfigValues)[];

/** Reads the settings for a service whose code set `code`. */
export function configureService(
  code: ConfiguredOptions & {
    registry?: unknown;
    broker?: unknown;
    transport?: unknown;
    profile?: unknown;
  },
  sources: ConfigSources,
): ServiceConfig {
  const config = readConfig({ ...sources, profile: code.profile as ProfileChoice | undefined });
  const { values } = config;
  const options: ConfiguredOptions = {};
  for (const key of SCALARS) {
    const v = values[key];
    if (code[key] === undefined && v !== undefined) (options as Record<string, unknown>)[key] = v;
  }
  if (values.metadata !== undefined && typeof code.metadata === 'object' && code.metadata !== null)
    options.metadata = { ...values.metadata, ...code.metadata };
  else if (values.metadata !== undefined && code.metadata === undefined)
    options.metadata = { ...values.metadata };
  checkHeartbeat(config, code, options);

  const origin = (flag: string): 'flag' | 'env' | 'code' =>
    config.origin[flag] === 'profile'
      ? 'code'
      : config.origin[flag]?.startsWith('--')
        ? 'flag'
        : 'env';
  const loads: Promise<unknown>[] = [];
  return {
    config,
    options,
    registry: (logger) => {
      if (code.registry !== undefined) return undefined;
      const planned = planRegistry(config, { logger });
      if (!planned) return undefined;
      const { registry, loaded } = deferredRegistry(planned);
      loads.push(loaded);
      return registry;
    },
    broker: (registry, logger) => {
      if (code.broker !== undefined) return undefined;
      const planned = planBroker(config, { registry, logger });
      if (!planned) return undefined;
      const { broker, loaded } = deferredBroker(planned);
      loads.push(loaded);
      return broker;
    },
    loaded: async () => {
      await Promise.all(loads);
    },
    transport: () => (code.transport !== undefined ? undefined : transportFromConfig(config)),
    summary(components) {
      const out: Record<string, ResolvedSetting> = {};
      for (const s of SETTINGS) {
        const key = SETTING_KEYS[s.flag];
        const component = COMPONENT_OF[key];
        const fromCode = component ? code[component] : code[key as keyof ConfiguredOptions];
        const given = values[key];
        if (key === 'metadata' && (given !== undefined || code.metadata !== undefined))
          out[s.flag] = {
            value: show(options.metadata ?? code.metadata),
            from: given !== undefined ? origin(s.flag) : 'code',
          };
        else if (fromCode !== undefined)
          out[s.flag] = {
            value: component
              ? key === component
                ? components[component].name
                : 'the component set in code'
              : show(fromCode, key),
            from: 'code',
          };
        else if (given !== undefined)
          out[s.flag] = { value: show(given, key), from: origin(s.flag) };
        else out[s.flag] = { value: s.default, from: 'default' };
      }
      return out;
    },
  };
}

/** The component a setting belongs to: code setting that component overrides the setting. */
const COMPONENT_OF: Partial<Record<keyof ConfigValues, 'registry' | 'broker' | 'transport'>> = {
  registry: 'registry',
  registryAddress: 'registry',
  broker: 'broker',
  brokerAddress: 'broker',
  transport: 'transport',
  poolIdleMs: 'transport',
};

/** A value as the log shows it: addresses without credentials, durations with their unit. */
function show(v: unknown, key?: keyof ConfigValues): string {
  if (Array.isArray(v)) return v.map((a) => redact(String(a))).join(',');
  if (typeof v === 'object' && v !== null)
    return Object.entries(v as Record<string, string>)
      .map(([k, x]) => `${k}=${x}`)
      .join(',');
  if (typeof v === 'number' && key !== undefined && key.endsWith('Ms')) return `${v} ms`;
  return String(v);
}

/**
 * The heartbeat must renew the entry before it expires: checked here when a setting gave the
 * TTL or the interval, so the error names the flag or variable rather than the option.
 */
function checkHeartbeat(config: Config, code: ConfiguredOptions, options: ConfiguredOptions): void {
  const fromConfig =
    options.registerIntervalMs !== undefined
      ? 'register_interval'
      : options.registerTtlMs !== undefined
        ? 'register_ttl'
        : undefined;
  if (!fromConfig) return;
  const ttl = code.registerTtlMs ?? options.registerTtlMs ?? DEFAULTS.registerTtlMs;
  const interval =
    code.registerIntervalMs ?? options.registerIntervalMs ?? DEFAULTS.registerIntervalMs;
  if (ttl > 0 && (interval === 0 || interval >= ttl))
    throw new InvalidOptionError(
      config.origin[fromConfig]!,
      `the re-registration interval (${interval / 1000} s) must be > 0 and below the registration TTL (${ttl / 1000} s), so the entry is renewed before it expires`,
    );
}
