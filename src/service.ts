import type { Broker } from './broker/broker.js';
import { memoryBroker } from './broker/memory.js';
import type { Client, CallWrapper, ClientWrapper } from './client/client.js';
import { createClient } from './client/rpc-client.js';
import type { RetryBudgetOptions } from './client/retry.js';
import { bytesCodec } from './codec/bytes.js';
import type { Codec } from './codec/codec.js';
import { jsonCodec } from './codec/json.js';
import { composeWrappers } from './compose.js';
import { InvalidOptionError } from './errors.js';
import { defaultLogger, type Logger } from './logger.js';
import { checkComponent, checkString } from './options.js';
import { localRegistry } from './registry/local.js';
import type { Registry } from './registry/registry.js';
import { registrySelector } from './selector/registry-selector.js';
import type { Selector } from './selector/selector.js';
import { createServer, type ServerOptions } from './server/rpc-server.js';
import type {
  HandleOptions,
  HandlerMethods,
  HandlerWrapper,
  Server,
  ServerSubscribeOptions,
  Subscriber,
  SubscriberWrapper,
} from './server/server.js';
import { dualPathTransport } from './transport/dual-path.js';
import type { Transport } from './transport/transport.js';

/** A lifecycle hook; a rejected `beforeStart` hook aborts the start. */
export type Hook = () => void | Promise<void>;

/**
 * Options for {@link createService}. Every component is optional: the defaults need nothing
 * installed (local registry, gRPC on loopback, JSON, in-process broker).
 */
export interface ServiceOptions {
  /** Service name, e.g. `greeter`. */
  name: string;
  /** @defaultValue `latest` */
  version?: string;
  /** Labels published in the node metadata. */
  metadata?: Record<string, string>;
  /** `host:port` to listen on. @defaultValue `127.0.0.1:0` */
  address?: string;
  /** `host:port` to publish instead of the bound address. */
  advertise?: string;
  /** @defaultValue `localRegistry()`: several processes on one host, no server */
  registry?: Registry;
  /**
   * @defaultValue `dualPathTransport()`: gRPC at the node address for go-micro and gRPC peers,
   * plus the native transport on a second port that tsmicro clients use (~10× the calls/s of
   * gRPC unary in `npm run bench`). Pass `grpcTransport()` to serve gRPC only.
   */
  transport?: Transport;
  /** @defaultValue `memoryBroker()` (one process) */
  broker?: Broker;
  /** @defaultValue `registrySelector({ registry })` */
  selector?: Selector;
  /** Codecs; the first is the client's default. @defaultValue `[jsonCodec(), bytesCodec()]` */
  codecs?: readonly Codec[];
  /**
   * The client's default codec, by content type or name (`json`, `application/grpc+json`).
   * @defaultValue the first codec
   */
  contentType?: string;
  /** Default budget of each call, ms. @defaultValue 5000 */
  timeoutMs?: number;
  /** Default extra attempts of each call. @defaultValue 2 */
  retries?: number;
  /**
   * Default limit of each call attempt, ms; 0 for none (see `CallOptions.attemptTimeoutMs`).
   * @defaultValue 0
   */
  attemptTimeoutMs?: number;
  /**
   * The client's retry budget, or `false` for none (see `ClientOptions.retryBudget`). @defaultValue
   * 20 % of calls + 10/s
   */
  retryBudget?: RetryBudgetOptions | false;
  /** Registration TTL, ms. @defaultValue 90000 */
  registerTtlMs?: number;
  /** Heartbeat interval, ms (below the TTL). @defaultValue 30000 */
  registerIntervalMs?: number;
  /** How long stop() waits for in-flight requests, ms. @defaultValue 10000 */
  stopTimeoutMs?: number;
  /**
   * Pause between deregistering and closing the listener on stop(), ms (see {@link
   * ServerOptions.drainDelayMs}). @defaultValue 1000
   */
  drainDelayMs?: number;
  /** Registration attempts at start. @defaultValue 3 */
  registerAttempts?: number;
  /**
   * Whether start() fails when the registry cannot be reached (false: serve and keep retrying).
   * @defaultValue true
   */
  requireRegistration?: boolean;
  /**
   * Whether calls made inside a handler inherit its deadline and metadata without `{ ctx }`
   * (AsyncLocalStorage; see {@link ServerOptions.implicitContext}). @defaultValue true
   */
  implicitContext?: boolean;
  /** Wrap the whole client (once per call). First is outermost. */
  wrapClient?: readonly ClientWrapper[];
  /** Wrap each call attempt. First is outermost. */
  wrapCall?: readonly CallWrapper[];
  /** Wrap each handler call. First is outermost. */
  wrapHandler?: readonly HandlerWrapper[];
  /** Wrap each subscriber call. First is outermost. */
  wrapSubscriber?: readonly SubscriberWrapper[];
  beforeStart?: readonly Hook[];
  afterStart?: readonly Hook[];
  beforeStop?: readonly Hook[];
  afterStop?: readonly Hook[];
  /** `run()` stops the service when this aborts. */
  signal?: AbortSignal;
  /** `run()` stops on SIGINT/SIGTERM/SIGQUIT. @defaultValue true */
  handleSignals?: boolean;
  /** @defaultValue pino on stderr, level `TSMICRO_LOG_LEVEL` or `info` */
  logger?: Logger;
}

/** A service: a server and a client sharing one registry, transport and broker. */
export interface Service extends AsyncDisposable {
  readonly name: string;
  /** Calls other services (and this one). Usable without starting the service. */
  readonly client: Client;
  readonly server: Server;
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
   * stops.
   */
  run(): Promise<void>;
}

const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGQUIT'];

/** Creates a service, go-micro's `micro.NewService`. Throws InvalidOptionError on bad options. */
export function createService(opts: ServiceOptions): Service {
  if (typeof opts !== 'object' || opts === null)
    throw new InvalidOptionError('options', 'expected an object');
  const name = checkString('name', opts.name);
  if (!name) throw new InvalidOptionError('name', 'a service name is required');
  const logger = opts.logger ?? defaultLogger();
  // What this service creates it also closes; instances passed in belong to the caller.
  const owned: (() => Promise<void>)[] = [];
  const registry =
    checkComponent('registry', opts.registry, ['register', 'getService']) ??
    own(localRegistry({ logger }), (r) => r.close());
  const transport =
    checkComponent('transport', opts.transport, ['listen', 'dial']) ??
    own(dualPathTransport(), (t) => t.close());
  const broker =
    checkComponent('broker', opts.broker, ['publish', 'subscribe']) ??
    own(memoryBroker(), (b) => b.disconnect());
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
    name,
    registry,
    transport,
    broker,
    codecs,
    logger,
    ...pick(opts, [
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
      'wrapHandler',
      'wrapSubscriber',
    ]),
  });
  const client = composeWrappers(
    opts.wrapClient,
    createClient({
      selector,
      transport,
      broker,
      codecs,
      ...pick(opts, [
        'contentType',
        'timeoutMs',
        'retries',
        'attemptTimeoutMs',
        'retryBudget',
        'wrapCall',
      ]),
    }),
  );
  let started = false;

  function own<T>(component: T, close: (c: T) => Promise<void>): T {
    owned.push(() => close(component));
    return component;
  }

  async function start(): Promise<void> {
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
    await Promise.allSettled(owned.map((close) => close()));
    if (errors.length > 0) throw errors[errors.length - 1];
  }

  async function run(): Promise<void> {
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
