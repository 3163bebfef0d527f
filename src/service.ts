import type { Broker } from './broker/broker.js';
import { httpBroker } from './broker/http/http.js';
import type { Client, ClientWrapper } from './client/client.js';
import { createClient, type ClientOptions } from './client/rpc-client.js';
import { bytesCodec } from './codec/bytes.js';
import type { Codec } from './codec/codec.js';
import { jsonCodec } from './codec/json.js';
import { composeWrappers } from './compose.js';
import type { ConfigSources } from './config/read.js';
import type { ProfileChoice } from './config/settings.js';
import { settingsHelp } from './config/help.js';
import { configureService } from './config/service-config.js';
import { InvalidOptionError } from './errors.js';
import type { Health } from './health/health.js';
import { markingClient } from './internal/hop.js';
import { defaultLogger, type Logger } from './logger.js';
import { checkComponent, checkRegistryName } from './options.js';
import { localRegistry } from './registry/local.js';
import type { Registry } from './registry/registry.js';
import { registrySelector } from './selector/registry-selector.js';
import type { Selector } from './selector/selector.js';
import { createServer, type ServerOptions } from './server/rpc-server.js';
import type {
  HandleOptions,
  HandlerMethods,
  Server,
  ServerSubscribeOptions,
  Subscriber,
} from './server/server.js';
import { dualPathTransport } from './transport/dual-path.js';
import type { Transport } from './transport/transport.js';

/** A lifecycle hook; a rejected `beforeStart` hook aborts the start. */
export type Hook = () => void | Promise<void>;

/** The client options a service passes to its client, documented on {@link ClientOptions}. */
const CLIENT_KEYS = [
  'contentType',
  'timeoutMs',
  'retries',
  'attemptTimeoutMs',
  'retryBudget',
  'hedge',
  'hedgeBudget',
  'adaptiveAttemptTimeout',
  'latencyWindow',
  'onHedge',
  'wrapCall',
] as const satisfies readonly (keyof ClientOptions)[];

/** The server options a service passes to its server, documented on {@link ServerOptions}. */
const SERVER_KEYS = [
  'name',
  'id',
  'version',
  'metadata',
  'address',
  'advertise',
  'registerTtlMs',
  'registerIntervalMs',
  'stopTimeoutMs',
  'drainDelayMs',
  'registerAttempts',
  'requireRegistration',
  'implicitContext',
  'health',
  'crashLog',
  'wrapHandler',
  'wrapSubscriber',
] as const satisfies readonly (keyof ServerOptions)[];

/**
 * Options for {@link createService}: the client's and the server's options (documented where
 * they are defined, on {@link ClientOptions} and {@link ServerOptions}), plus the components the
 * service shares between them. Every component is optional: the defaults need nothing installed
 * (local registry, gRPC and native on loopback, JSON, the embedded HTTP broker).
 *
 * What code leaves unset is taken from go-micro's flags (`--registry consul`, with `flags`) and
 * environment variables (`MICRO_REGISTRY=consul`), then the defaults: docs/operations.md lists
 * them, `SETTINGS` is their table.
 */
export interface ServiceOptions
  extends
    Pick<ClientOptions, (typeof CLIENT_KEYS)[number]>,
    Omit<Pick<ServerOptions, (typeof SERVER_KEYS)[number]>, 'name'> {
  /**
   * The service's name (see {@link ServerOptions.name}). Required, here or from `--server_name` /
   * `MICRO_SERVER_NAME`.
   */
  name?: string;
  /**
   * Read go-micro's flags (`--registry`, `--server_address`, ... listed by `--help`) from these
   * command-line arguments, or from `process.argv.slice(2)` with `true`. They must hold only
   * these flags: an unknown one is an InvalidOptionError. With `--help`, `run()` prints every
   * flag with its variable and default and returns without starting. Off by default: a
   * program's arguments are the program's to give.
   * @defaultValue false
   */
  flags?: ConfigSources['flags'];
  /**
   * Where the `MICRO_*` variables are read; `false` reads none.
   * @defaultValue `process.env`
   */
  env?: ConfigSources['env'];
  /**
   * A whole stack in one word, as `--profile` / `MICRO_PROFILE` (this option wins over them):
   * `local` or `go-micro` give go-micro's defaults — the HTTP broker and go-micro's HTTP
   * transport with its RPC protocol (`mucpTransport()`), so that a go-micro service started
   * with no flags and this one call each other. A component given here, or named by its own
   * flag or variable, wins over the profile's.
   */
  profile?: ProfileChoice;
  /**
   * Where the server registers and the selector looks services up.
   * @defaultValue `localRegistry()`: several processes on one host, no server
   */
  registry?: Registry;
  /**
   * The wire of both the server and the client.
   * @defaultValue `dualPathTransport()`: gRPC at the node address for go-micro and gRPC peers,
   * plus the native transport on a second port that tsmicro clients use (~10× the calls/s of
   * gRPC unary in `npm run bench`). Pass `grpcTransport()` to serve gRPC only.
   */
  transport?: Transport;
  /**
   * Carries the client's publishes and the server's subscriptions.
   * @defaultValue `httpBroker({ registry })`: the embedded broker on go-micro's HTTP broker wire,
   * spanning every process on the service's registry; it opens a port only once the service
   * subscribes. Pass `memoryBroker()` for events that stay in this process.
   */
  broker?: Broker;
  /** Picks the client's nodes. @defaultValue `registrySelector({ registry })` */
  selector?: Selector;
  /**
   * Codecs of both the client and the server; the first is the client's default.
   * @defaultValue `[jsonCodec(), bytesCodec()]`
   */
  codecs?: readonly Codec[];
  /** Wrap the whole client (once per call). First is outermost. */
  wrapClient?: readonly ClientWrapper[];
  /** Run in order before the server starts; a rejection aborts the start. */
  beforeStart?: readonly Hook[];
  /** Run in order once the server is started (and registered). */
  afterStart?: readonly Hook[];
  /**
   * Run in order before the server stops; one failing does not keep the rest or the stop from
   * running, and `stop()` then rejects with the last failure.
   */
  beforeStop?: readonly Hook[];
  /** Run in order after the server stopped; failures are handled as `beforeStop`'s. */
  afterStop?: readonly Hook[];
  /** `run()` stops the service when this aborts. */
  signal?: AbortSignal;
  /** `run()` stops on SIGINT/SIGTERM/SIGQUIT. @defaultValue true */
  handleSignals?: boolean;
  /** Where the service logs. @defaultValue pino on stderr, level `TSMICRO_LOG_LEVEL` or `info` */
  logger?: Logger;
}

/** A service: a server and a client sharing one registry, transport and broker. */
export interface Service extends AsyncDisposable {
  readonly name: string;
  /** Calls other services (and this one). Usable without starting the service. */
  readonly client: Client;
  readonly server: Server;
  /**
   * The service's health (`server.health`): add checks with `health.addCheck`, read liveness and
   * readiness; see docs/operations.md for its surfaces.
   */
  readonly health: Health;
  /** Same as `server.handle`. */
  handle(name: string, methods: HandlerMethods, opts?: HandleOptions): void;
  /** Same as `server.subscribe`. */
  subscribe<T = unknown>(
    topic: string,
    subscriber: Subscriber<T>,
    opts?: ServerSubscribeOptions,
  ): void;
  /**
   * beforeStart hooks → server start (listen, subscribe, register, heartbeat) → afterStart hooks.
   */
  start(): Promise<void>;
  /**
   * beforeStop hooks → server stop (deregister, drain) → afterStop hooks; then releases what the
   * service created.
   */
  stop(): Promise<void>;
  /**
   * Starts (unless started already), waits for a stop signal (SIGINT/SIGTERM, or `signal`), then
   * stops. With `--help` among the `flags`, prints the flags on stdout and returns instead.
   */
  run(): Promise<void>;
}

const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGQUIT'];

/** Creates a service, go-micro's `micro.NewService`. Throws InvalidOptionError on bad options. */
export function createService(opts: ServiceOptions): Service {
  if (typeof opts !== 'object' || opts === null)
    throw new InvalidOptionError('options', 'expected an object');
  // Resolved once, before anything is built: code, then flags, then environment, then defaults.
  const cfg = configureService(opts, { flags: opts.flags ?? false, env: opts.env });
  const resolved: ServiceOptions = { ...opts, ...cfg.options };
  const name = checkRegistryName('name', resolved.name);
  if (!name)
    throw new InvalidOptionError(
      'name',
      'a service name is required (in code, --server_name or MICRO_SERVER_NAME)',
    );
  const logger = opts.logger ?? defaultLogger();
  // What this service creates it also closes; instances passed in belong to the caller.
  const owned: (() => Promise<void>)[] = [];
  const registry =
    checkComponent('registry', opts.registry, ['register', 'getService']) ??
    own(cfg.registry(logger) ?? localRegistry({ logger }), (r) => r.close());
  const transport =
    checkComponent('transport', opts.transport, ['listen', 'dial']) ??
    own(cfg.transport() ?? dualPathTransport(), (t) => t.close());
  const broker =
    checkComponent('broker', opts.broker, ['publish', 'subscribe']) ??
    own(
      cfg.broker(registry, logger) ??
        httpBroker({ registry, logger: logger.child({ component: 'broker/http' }) }),
      (b) => b.disconnect(),
    );
  const selector =
    checkComponent('selector', opts.selector, ['select', 'mark']) ??
    own(registrySelector({ registry, logger }), (s) => s.close());
  const codecs = opts.codecs ?? [jsonCodec(), bytesCodec()];
  for (const [i, c] of codecs.entries()) checkComponent(`codecs[${i}]`, c, ['encode', 'decode']);
  const hooks = {
    beforeStart: opts.beforeStart ?? [],
    afterStart: opts.afterStart ?? [],
    beforeStop: opts.beforeStop ?? [],
    afterStop: opts.afterStop ?? [],
  };

  const server = createServer({
    registry,
    transport,
    broker,
    codecs,
    logger,
    ...pick(resolved, SERVER_KEYS),
    name,
  });
  const wrappedClient = composeWrappers(
    opts.wrapClient,
    createClient({
      selector,
      transport,
      broker,
      codecs,
      ...pick(resolved, CLIENT_KEYS),
    }),
  );
  // What a wrapper itself throws names its hop too (see internal/hop.ts).
  const client = opts.wrapClient?.length ? markingClient(wrappedClient) : wrappedClient;
  let started = false;
  let configLogged = false;

  function own<T>(component: T, close: (c: T) => Promise<void>): T {
    owned.push(() => close(component));
    return component;
  }

  async function start(): Promise<void> {
    if (!configLogged) {
      configLogged = true;
      logger.info(
        { service: name, config: cfg.summary({ registry, broker, transport }) },
        'configuration',
      );
    }
    await cfg.loaded();
    for (const hook of hooks.beforeStart) await hook();
    await server.start();
    started = true;
    for (const hook of hooks.afterStart) await hook();
  }

  async function stop(): Promise<void> {
    const errors: unknown[] = [];
    const runAll = async (list: readonly Hook[]): Promise<void> => {
      for (const hook of list)
        await Promise.resolve()
          .then(hook)
          .catch((err: unknown) => {
            errors.push(err);
          });
    };
    if (started) {
      await runAll(hooks.beforeStop);
      await server.stop();
      started = false;
      await runAll(hooks.afterStop);
    }
    // Last created, first closed: the broker deregisters its subscriptions before the registry
    // it uses is closed.
    for (const close of [...owned].reverse()) await close().catch(() => {});
    if (errors.length > 0) throw errors[errors.length - 1];
  }

  async function run(): Promise<void> {
    if (cfg.config.help) {
      process.stdout.write(settingsHelp());
      await stop();
      return;
    }
    // Listen for stop signals before starting: a SIGTERM that arrives while the service starts
    // (or right after it printed that it is ready) must stop it gracefully, not kill it.
    let release = (): void => {};
    const stopRequested = new Promise<void>((resolve) => {
      const done = (): void => {
        for (const sig of STOP_SIGNALS) process.off(sig, done);
        opts.signal?.removeEventListener('abort', done);
        resolve();
      };
      release = done;
      if (opts.handleSignals ?? true) for (const sig of STOP_SIGNALS) process.once(sig, done);
      if (opts.signal?.aborted) done();
      else opts.signal?.addEventListener('abort', done, { once: true });
    });
    try {
      if (!started) await start();
    } catch (err) {
      release();
      throw err;
    }
    await stopRequested;
    await stop();
  }

  return {
    name,
    client,
    server,
    health: server.health,
    handle: (n, methods, o) => server.handle(n, methods, o),
    subscribe: (topic, subscriber, o) => server.subscribe(topic, subscriber, o),
    start,
    stop,
    run,
    [Symbol.asyncDispose]: stop,
  };
}

/** The entries of `obj` named in `keys` that are set (so undefined never overrides a default). */
function pick<T extends object, K extends keyof T>(
  obj: T,
  keys: readonly K[],
): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}
