import { DEFAULT_LISTEN_ADDRESS, DEFAULTS } from '../defaults.js';

/**
 * The one table of settings a service (and the `tsmicro` command) takes from flags and
 * environment: go-micro's `cmd` names (`--registry` / `MICRO_REGISTRY`, ...) and units (whole
 * seconds for `register_ttl` and `register_interval`, Go durations such as `5s` for the client
 * timeouts), each mapped to the {@link ServiceOptions} it sets. The flag parser, the environment
 * reader, `--help` and docs/operations.md are all made from this table.
 */

/** How a setting's text is read. */
export type SettingKind =
  /** One of `choices`. */
  | 'choice'
  /** A name a registry can hold (letters, digits, `.`, `-`, `_`). */
  | 'name'
  /** Any non-empty text. */
  | 'text'
  /** `host:port`. */
  | 'address'
  /** A list: comma-separated, or the flag repeated. */
  | 'list'
  /** `key=value` pairs: comma-separated, or the flag repeated. */
  | 'pairs'
  /** A whole number of seconds (go-micro's unit for these). */
  | 'seconds'
  /** A Go duration: `500ms`, `5s`, `1m30s`. */
  | 'duration'
  /** A whole number. */
  | 'count';

/** One row of {@link SETTINGS}. */
export interface Setting {
  /** The flag, without its leading `--`: go-micro's name. */
  readonly flag: string;
  /** The environment variable: go-micro's name. */
  readonly env: string;
  readonly kind: SettingKind;
  /** The values a `choice` accepts. */
  readonly choices?: readonly string[];
  /** The default as a user would write it, or what decides it when it depends on another setting. */
  readonly default: string;
  /** What it sets, in tsmicro's words (a {@link ServiceOptions} key or a component). */
  readonly sets: string;
  /** One line for `--help`. */
  readonly description: string;
}

/** The registries a setting can name. */
export const REGISTRY_CHOICES = ['local', 'memory', 'consul', 'etcd', 'mdns'] as const;
/** The brokers a setting can name; `http` is the embedded cross-process broker. */
export const BROKER_CHOICES = ['http', 'nats', 'memory'] as const;
/**
 * The transports a setting can name; `dual` is gRPC plus the native fast path, `http` go-micro's
 * HTTP transport with its RPC protocol (mucp), as go-micro's `--transport http` means.
 */
export const TRANSPORT_CHOICES = ['grpc', 'native', 'dual', 'http'] as const;
/** The stacks `--profile` can name (see profiles.ts). */
export const PROFILE_CHOICES = ['local', 'go-micro'] as const;

/** A registry by name, as `--registry` takes it. */
export type RegistryChoice = (typeof REGISTRY_CHOICES)[number];
/** A broker by name, as `--broker` takes it. */
export type BrokerChoice = (typeof BROKER_CHOICES)[number];
/** A transport by name, as `--transport` takes it. */
export type TransportChoice = (typeof TRANSPORT_CHOICES)[number];
/** A profile by name, as `--profile` takes it. */
export type ProfileChoice = (typeof PROFILE_CHOICES)[number];

const seconds = (ms: number): string => String(ms / 1000);
const duration = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

/**
 * Every setting, in `--help` order. go-micro's `cmd` has more (`--client`, `--server`,
 * `--selector`, `--store`, `--auth`, ...): those name parts tsmicro has only one of, or none,
 * and are refused as unknown flags rather than silently ignored.
 */
export const SETTINGS: readonly Setting[] = Object.freeze([
  {
    flag: 'registry',
    env: 'MICRO_REGISTRY',
    kind: 'choice',
    choices: REGISTRY_CHOICES,
    default: 'local',
    sets: 'registry',
    description:
      "Registry for discovery: local (files on this host), memory, consul, etcd, mdns (go-micro's default: multicast DNS on the LAN)",
  },
  {
    flag: 'registry_address',
    env: 'MICRO_REGISTRY_ADDRESS',
    kind: 'list',
    default: 'consul: CONSUL_HTTP_ADDR or 127.0.0.1:8500; etcd: ETCD_ENDPOINTS or 127.0.0.1:2379',
    sets: 'registry address(es); for local, its directory',
    description: 'Comma-separated registry addresses',
  },
  {
    flag: 'broker',
    env: 'MICRO_BROKER',
    kind: 'choice',
    choices: BROKER_CHOICES,
    default: 'http',
    sets: 'broker',
    description:
      'Broker for publish/subscribe: http (embedded, across the processes of the registry), nats, memory (one process)',
  },
  {
    flag: 'broker_address',
    env: 'MICRO_BROKER_ADDRESS',
    kind: 'list',
    default: 'nats: NATS_URL or nats://127.0.0.1:4222',
    sets: 'broker address(es): NATS servers; for http, its listen address',
    description: 'Comma-separated broker addresses',
  },
  {
    flag: 'transport',
    env: 'MICRO_TRANSPORT',
    kind: 'choice',
    choices: TRANSPORT_CHOICES,
    default: 'dual',
    sets: 'transport',
    description:
      "Transport: grpc, native, dual (gRPC plus the native fast path), http (go-micro's HTTP transport, mucp)",
  },
  {
    flag: 'profile',
    env: 'MICRO_PROFILE',
    kind: 'choice',
    choices: PROFILE_CHOICES,
    default: 'none',
    sets: 'registry, broker and transport, unless named on their own',
    description:
      "A whole stack in one word: local or go-micro (go-micro's defaults: mDNS registry, HTTP broker, HTTP transport with mucp)",
  },
  {
    flag: 'server_name',
    env: 'MICRO_SERVER_NAME',
    kind: 'name',
    default: 'none (required, here or in code)',
    sets: 'name',
    description: 'Name of the service, e.g. go.micro.srv.greeter',
  },
  {
    flag: 'server_id',
    env: 'MICRO_SERVER_ID',
    kind: 'name',
    default: 'a random UUID',
    sets: 'id',
    description: 'Id of this instance; the node id is <name>-<id>',
  },
  {
    flag: 'server_version',
    env: 'MICRO_SERVER_VERSION',
    kind: 'text',
    default: 'latest',
    sets: 'version',
    description: 'Version of the service',
  },
  {
    flag: 'server_address',
    env: 'MICRO_SERVER_ADDRESS',
    kind: 'address',
    default: DEFAULT_LISTEN_ADDRESS,
    sets: 'address',
    description: 'host:port to listen on (port 0: any free port)',
  },
  {
    flag: 'server_advertise',
    env: 'MICRO_SERVER_ADVERTISE',
    kind: 'address',
    default: 'the bound address',
    sets: 'advertise',
    description: 'host:port to register instead of the bound address (NAT, containers)',
  },
  {
    flag: 'server_metadata',
    env: 'MICRO_SERVER_METADATA',
    kind: 'pairs',
    default: 'none',
    sets: 'metadata (keys set in code win)',
    description: 'Node metadata, k=v pairs, comma-separated or the flag repeated',
  },
  {
    flag: 'register_ttl',
    env: 'MICRO_REGISTER_TTL',
    kind: 'seconds',
    default: seconds(DEFAULTS.registerTtlMs),
    sets: 'registerTtlMs',
    description: 'Registration TTL in seconds; 0: the entry never expires',
  },
  {
    flag: 'register_interval',
    env: 'MICRO_REGISTER_INTERVAL',
    kind: 'seconds',
    default: seconds(DEFAULTS.registerIntervalMs),
    sets: 'registerIntervalMs',
    description: 'Re-registration interval in seconds; below the TTL',
  },
  {
    flag: 'client_request_timeout',
    env: 'MICRO_CLIENT_REQUEST_TIMEOUT',
    kind: 'duration',
    default: duration(DEFAULTS.requestTimeoutMs),
    sets: 'timeoutMs',
    description: 'Budget of a call, e.g. 500ms, 5s, 1m',
  },
  {
    flag: 'client_retries',
    env: 'MICRO_CLIENT_RETRIES',
    kind: 'count',
    default: String(DEFAULTS.retries),
    sets: 'retries',
    description: 'Attempts after the first, each on a node not tried yet',
  },
  {
    flag: 'client_pool_ttl',
    env: 'MICRO_CLIENT_POOL_TTL',
    kind: 'duration',
    default: duration(DEFAULTS.poolIdleMs),
    sets: 'poolIdleMs of the transport made from --transport',
    description: 'Close a connection unused this long, e.g. 30s, 1m',
  },
] satisfies Setting[]);
