import type { Broker } from '../broker/broker.js';
import { httpBroker } from '../broker/http/http.js';
import { memoryBroker } from '../broker/memory.js';
import { InvalidOptionError } from '../errors.js';
import type { Logger } from '../logger.js';
import { parseAddress } from '../options.js';
import { localRegistry } from '../registry/local.js';
import { memoryRegistry } from '../registry/memory.js';
import type { Registry } from '../registry/registry.js';
import { dualPathTransport } from '../transport/dual-path.js';
import { grpcTransport } from '../transport/grpc/grpc.js';
import { mucpTransport } from '../transport/mucp/mucp.js';
import { nativeTransport } from '../transport/native/native.js';
import type { Transport } from '../transport/transport.js';
import type { Config } from './read.js';

/**
 * The components the settings name, made from a {@link Config}. Addresses are checked when the
 * component is planned (synchronously, so `createService` throws at once); plug-ins built on
 * optional peer packages (Consul, etcd, NATS) are imported only when loaded, as their subpaths
 * are, so a service on the defaults never needs them installed.
 */

/** A component chosen by the settings: its name now, the instance when loaded. */
export interface Planned<T> {
  readonly name: string;
  load(): Promise<T>;
}

/** How errors name a setting: where it came from, else its flag. */
function nameOf(config: Config, flag: string): string {
  return config.origin[flag] ?? `--${flag}`;
}

/** The module of the embedded HTTP broker, when this build has it (see {@link planBroker}). */

/**
 * The registry `config` names (undefined when it names none). An address given without naming
 * the registry is refused: with the default (local) it would silently become a directory name.
 */
export function planRegistry(
  config: Config,
  opts: { logger?: Logger } = {},
): Planned<Registry> | undefined {
  const { registry: choice, registryAddress: addresses } = config.values;
  const addressName = nameOf(config, 'registry_address');
  if (choice === undefined) {
    if (addresses !== undefined)
      throw new InvalidOptionError(
        addressName,
        'is set, but no registry is named: set --registry / MICRO_REGISTRY (consul, etcd, mdns, local or memory) too',
      );
    return undefined;
  }
  const choiceName = nameOf(config, 'registry');
  switch (choice) {
    case 'local': {
      if (addresses && addresses.length > 1)
        throw new InvalidOptionError(addressName, 'the local registry takes one directory');
      const dir = addresses?.[0];
      return {
        name: 'local',
        load: () => Promise.resolve(localRegistry({ dir, logger: opts.logger })),
      };
    }
    case 'memory':
      if (addresses)
        throw new InvalidOptionError(addressName, 'the memory registry takes no address');
      return { name: 'memory', load: () => Promise.resolve(memoryRegistry()) };
    case 'consul': {
      const address = addresses?.map((a) => checkHttpAddress(addressName, a, false));
      return {
        name: 'consul',
        load: () =>
          loadPeer(choiceName, 'consul', () => import('../registry/consul/consul.js')).then((m) =>
            m.consulRegistry(address ? { address } : {}),
          ),
      };
    }
    case 'etcd': {
      const endpoints = addresses?.map((a) => checkHttpAddress(addressName, a, true));
      return {
        name: 'etcd',
        load: () =>
          loadPeer(choiceName, 'etcd', () => import('../registry/etcd/etcd.js')).then((m) =>
            m.etcdRegistry(endpoints ? { endpoints } : {}),
          ),
      };
    }
    case 'mdns':
      if (addresses)
        throw new InvalidOptionError(
          addressName,
          'the mdns registry takes no address: nodes find each other by multicast',
        );
      return {
        name: 'mdns',
        load: () =>
          loadPeer(choiceName, 'mdns', () => import('../registry/mdns/mdns.js')).then((m) =>
            m.mdnsRegistry({ logger: opts.logger }),
          ),
      };
  }
}

/**
 * The broker `config` names (undefined when it names none); `registry` is the one the service
 * uses, which the embedded HTTP broker finds its subscribers in.
 */
export function planBroker(
  config: Config,
  opts: { registry: Registry; logger?: Logger },
): Planned<Broker> | undefined {
  const { broker: choice, brokerAddress: addresses } = config.values;
  const addressName = nameOf(config, 'broker_address');
  if (choice === undefined) {
    if (addresses !== undefined)
      throw new InvalidOptionError(
        addressName,
        'is set, but no broker is named: set --broker / MICRO_BROKER (nats, http or memory) too',
      );
    return undefined;
  }
  const choiceName = nameOf(config, 'broker');
  switch (choice) {
    case 'memory':
      if (addresses)
        throw new InvalidOptionError(addressName, 'the memory broker takes no address');
      return { name: 'memory', load: () => Promise.resolve(memoryBroker()) };
    case 'nats': {
      const servers = addresses?.map((a) => checkNatsAddress(addressName, a));
      return {
        name: 'nats',
        load: () =>
          loadPeer(choiceName, 'nats', () => import('../broker/nats/nats.js')).then((m) =>
            m.natsBroker({ ...(servers ? { servers } : {}), logger: opts.logger }),
          ),
      };
    }
    case 'http': {
      if (addresses && addresses.length > 1)
        throw new InvalidOptionError(addressName, 'the http broker listens on one host:port');
      if (addresses && !parseAddress(addresses[0]))
        throw new InvalidOptionError(
          addressName,
          `expected host:port to listen on, got ${JSON.stringify(addresses[0])}`,
        );
      return {
        name: 'http',
        load: () =>
          Promise.resolve(
            httpBroker({ registry: opts.registry, address: addresses?.[0], logger: opts.logger }),
          ),
      };
    }
  }
}

/**
 * The transport `config` names (undefined when it names none and sets no pool TTL); its
 * connections close after `--client_pool_ttl` unused.
 */
export function transportFromConfig(config: Config): Transport | undefined {
  const { transport: choice, poolIdleMs } = config.values;
  if (choice === undefined && poolIdleMs === undefined) return undefined;
  const pool = poolIdleMs === undefined ? {} : { poolIdleMs };
  switch (choice ?? 'dual') {
    case 'grpc':
      return grpcTransport(pool);
    case 'native':
      return nativeTransport(pool);
    case 'dual':
      return dualPathTransport({ grpc: grpcTransport(pool), native: nativeTransport(pool) });
    case 'http':
      return mucpTransport(pool);
  }
}

/** The registry `config` names, loaded; the default (local) when it names none. */
export async function registryFromConfig(
  config: Config,
  opts: { logger?: Logger } = {},
): Promise<Registry> {
  const planned = planRegistry(config, opts);
  return planned ? planned.load() : localRegistry({ logger: opts.logger });
}

/** The broker `config` names, loaded and not yet connected; the default (memory) when it names none. */
export async function brokerFromConfig(
  config: Config,
  opts: { registry: Registry; logger?: Logger },
): Promise<Broker> {
  const planned = planBroker(config, opts);
  return planned ? planned.load() : memoryBroker();
}

/** `host:port` or `http(s)://host:port`; etcd endpoints get `http://` when given without. */
function checkHttpAddress(name: string, address: string, addScheme: boolean): string {
  const m = /^(https?:\/\/)?(.*)$/.exec(address)!;
  if (!parseAddress(m[2]))
    throw new InvalidOptionError(
      name,
      `expected host:port or http(s)://host:port, got ${JSON.stringify(address)}`,
    );
  return addScheme && !m[1] ? `http://${address}` : address;
}

/** `host:port` or `nats|tls|ws|wss://[user:pass@]host:port`. */
function checkNatsAddress(name: string, address: string): string {
  const m = /^(?:(nats|tls|ws|wss):\/\/)?(?:[^@/]*@)?([^/]*)$/.exec(address);
  if (!m || !parseAddress(m[2]))
    throw new InvalidOptionError(
      name,
      `expected nats://host:port (or tls://, ws://, wss://, or host:port), got ${JSON.stringify(redact(address))}`,
    );
  return address;
}

/** `address` without credentials, for messages and logs. */
export function redact(address: string): string {
  return address.replace(/\/\/[^@/]*@/, '//***@');
}

/** Imports a plug-in; a missing optional peer package becomes an error naming the setting. */
async function loadPeer<M>(name: string, choice: string, load: () => Promise<M>): Promise<M> {
  try {
    return await load();
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_TSMICRO_MISSING_PACKAGE') throw err;
    throw new InvalidOptionError(name, `${choice}: ${(err as Error).message}`);
  }
}
