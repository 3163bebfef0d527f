import { randomUUID } from 'node:crypto';
import type { Broker, Subscription } from '../broker/broker.js';
import { brokerCheck, registryCheck } from '../health/builtin.js';
import { HealthModel } from '../health/health.js';
import { listenHealthHttp, type HealthHttpListener } from '../health/http.js';
import { checkHealthOptions, type HealthOptions } from '../health/options.js';
import type { Codec } from '../codec/codec.js';
import { composeWrappers } from '../compose.js';
import { DEFAULT_LISTEN_ADDRESS, DEFAULTS } from '../defaults.js';
import { InvalidOptionError } from '../errors.js';
import { advertisable } from '../internal/net.js';
import type { Logger } from '../logger.js';
import {
  checkAddress,
  checkBoolean,
  checkComponent,
  checkInteger,
  checkNumber,
  checkRegistryName,
  checkString,
  checkStringRecord,
} from '../options.js';
import type { Node, Registry, Service } from '../registry/registry.js';
import { protocolOf, type Listener, type Transport } from '../transport/transport.js';
import { debugCodecs, debugHandler } from './debug-handler.js';
import { HandlerErrors } from './handler-errors.js';
import { Registrar } from './register.js';
import { Router } from './router.js';
import { deliver, subscriberEndpoints, type SubscriberEntry } from './subscriber.js';
import { publishedTypes } from './endpoint-types.js';
import type {
  HandleOptions,
  HandlerMethods,
  HandlerWrapper,
  Server,
  ServerSubscribeOptions,
  Subscriber,
  SubscriberFunc,
  SubscriberWrapper,
} from './server.js';

/** Options for {@link createServer}. */
export interface ServerOptions {
  /**
   * Service name, e.g. `greeter` or `go.micro.srv.greeter`: letters, digits, `.`, `-` and `_`,
   * starting with a letter or digit — what go-micro names use and every registry (Consul, etcd,
   * local files) and the gRPC path can hold. Anything else (a space, `/`, empty) is an
   * InvalidOptionError.
   */
  name: string;
  /**
   * Service version, e.g. `1.2.0` or `latest`: any non-empty string (registries store it encoded
   * or as a value, never in a path or key). @defaultValue `latest`
   */
  version?: string;
  /**
   * Instance id; the node id is `<name>-<id>`. The same characters as `name`, since the node id
   * is part of registry keys and URLs. @defaultValue a random UUID
   */
  id?: string;
  /** `host:port` to listen on. @defaultValue `127.0.0.1:0` */
  address?: string;
  /** `host:port` to publish instead of the bound address (NAT, containers). */
  advertise?: string;
  /** Labels added to the node metadata. */
  metadata?: Record<string, string>;
  registry: Registry;
  transport: Transport;
  broker: Broker;
  /** Codecs the server answers with; requests pick one by content type. */
  codecs: readonly Codec[];
  /** Registration TTL, ms. @defaultValue 90000 */
  registerTtlMs?: number;
  /** Heartbeat (re-registration) interval, ms; must be below the TTL. @defaultValue 30000 */
  registerIntervalMs?: number;
  /** How long stop() lets in-flight requests finish before closing hard, ms. @defaultValue 10000 */
  stopTimeoutMs?: number;
  /**
   * Pause between deregistering and closing the listener on stop(), ms: clients whose cache
   * still lists this node keep being served while their registry watch tells them it left.
   * Skipped when the node was never registered. go-micro has none.
   * @defaultValue `DEFAULTS.drainDelayMs` (1000)
   */
  drainDelayMs?: number;
  /**
   * Registration attempts at start, with backoff between them. @defaultValue
   * `DEFAULTS.registerAttempts` (3)
   */
  registerAttempts?: number;
  /**
   * Whether start() fails when every registration attempt failed (the registry is unreachable).
   * With false, the server starts serving unregistered and each heartbeat tries again, so it
   * appears once the registry is back. A node not ready at start (a critical health check
   * fails) does not register then, whatever this says: it registers once ready.
   * @defaultValue true
   */
  requireRegistration?: boolean;
  /**
   * Whether handlers run inside AsyncLocalStorage, so that calls and publishes made anywhere
   * in a handler's async work inherit its deadline, metadata and cancellation without passing
   * `{ ctx }` (and `currentContext()` returns it). With false, handlers still get `ctx` and
   * calls inherit it when given `{ ctx }`, as in go-micro; nothing is inherited implicitly.
   * AsyncLocalStorage keeps Node 20's async hooks on for every promise and async resource of
   * the process: false saves that cost (measured in the README's Speed section) for services
   * whose handlers pass `ctx` on, or call nothing — unless something else in the process uses
   * AsyncLocalStorage too (OpenTelemetry's context manager does).
   * @defaultValue true
   */
  implicitContext?: boolean;
  /**
   * The node's health: checks, the HTTP surface, the built-in checks (see {@link HealthOptions}).
   * The node answers grpc.health.v1 on its gRPC port and go-micro's `Debug.Health` whatever this
   * says, and is listed in the registry only while ready.
   */
  health?: HealthOptions;
  /**
   * How handler crashes — anything a handler throws that is not a MicroError — are logged, with
   * their stack: the first per endpoint in each `intervalMs` (0: every one), the others counted
   * and reported with the next one logged. false logs none. MicroErrors are answers, never
   * logged as crashes. @defaultValue `{ intervalMs: DEFAULTS.handlerErrorLogIntervalMs }` (10 s)
   */
  crashLog?: { intervalMs?: number } | false;
  /** Wrappers around every handler call; the first is outermost. */
  wrapHandler?: readonly HandlerWrapper[];
  /** Wrappers around every subscriber call; the first is outermost. */
  wrapSubscriber?: readonly SubscriberWrapper[];
  logger: Logger;
}

/** Builds a server. Nothing listens until {@link Server.start}. */
export function createServer(opts: ServerOptions): Server {
  const name = checkRegistryName('name', opts.name);
  if (!name) throw new InvalidOptionError('name', 'a service name is required');
  const version = checkString('version', opts.version) ?? 'latest';
  const id = checkRegistryName('id', opts.id) ?? randomUUID();
  const listenAddress = checkAddress('address', opts.address) ?? DEFAULT_LISTEN_ADDRESS;
  const advertise = checkAddress('advertise', opts.advertise);
  const labels = checkStringRecord('metadata', opts.metadata) ?? {};
  const registry = checkComponent('registry', opts.registry, [
    'register',
    'deregister',
    'getService',
    'watch',
  ])!;
  const transport = checkComponent('transport', opts.transport, ['listen', 'dial'])!;
  const broker = checkComponent('broker', opts.broker, ['publish', 'subscribe'])!;
  const ttlMs = checkNumber('registerTtlMs', opts.registerTtlMs, 0) ?? DEFAULTS.registerTtlMs;
  const intervalMs =
    checkNumber('registerIntervalMs', opts.registerIntervalMs, 0) ?? DEFAULTS.registerIntervalMs;
  if (ttlMs > 0 && (intervalMs === 0 || intervalMs >= ttlMs)) {
    throw new InvalidOptionError(
      'registerIntervalMs',
      `must be > 0 and below registerTtlMs (${ttlMs} ms) so the entry is renewed before it expires, got ${intervalMs}`,
    );
  }
  const stopTimeoutMs =
    checkInteger('stopTimeoutMs', opts.stopTimeoutMs, 0) ?? DEFAULTS.stopTimeoutMs;
  const drainDelayMs = checkNumber('drainDelayMs', opts.drainDelayMs, 0) ?? DEFAULTS.drainDelayMs;
  const attempts =
    checkInteger('registerAttempts', opts.registerAttempts, 1) ?? DEFAULTS.registerAttempts;
  const requireRegistration = checkBoolean('requireRegistration', opts.requireRegistration) ?? true;
  const implicitContext = checkBoolean('implicitContext', opts.implicitContext) ?? true;
  const logger = opts.logger.child({ service: name });
  const nodeId = `${name}-${id}`;
  const healthOpts = checkHealthOptions(opts.health);
  const crashLogIntervalMs = resolveCrashLog(opts.crashLog);
  const router = new Router(
    name,
    version,
    nodeId,
    opts.codecs,
    opts.wrapHandler ?? [],
    implicitContext,
    logger,
    new HandlerErrors(name, logger, crashLogIntervalMs),
  );
  const health = new HealthModel({ service: name, version, nodeId }, logger);
  router.health = health;
  if (healthOpts.registryCheck !== false)
    health.addCheck(registryCheck(registry, name, healthOpts.registryCheck ?? {}));
  if (healthOpts.brokerCheck !== false && typeof broker.ping === 'function')
    health.addCheck(
      brokerCheck(broker as Broker & { ping(): Promise<void> }, healthOpts.brokerCheck ?? {}),
    );
  for (const [i, check] of (healthOpts.checks ?? []).entries()) {
    try {
      health.addCheck(check);
    } catch (err) {
      // Name the check by its place in the option, not by the addCheck call it went through.
      if (err instanceof InvalidOptionError)
        throw new InvalidOptionError(
          err.option.replace('health.addCheck', `health.checks[${i}]`),
          err.message.replace(/^invalid option \S+: /, ''),
        );
      throw err;
    }
  }
  router.addBuiltin('Debug', debugHandler, debugCodecs);
  const pending: SubscriberEntry[] = [];
  const subscriptions: Subscription[] = [];
  let listener: Listener | undefined;
  let httpListener: HealthHttpListener | undefined;
  let stopFollowingHealth: (() => void) | undefined;
  let registrar: Registrar | undefined;
  let node: Node | undefined;
  let state: 'new' | 'starting' | 'started' | 'stopping' | 'stopped' = 'new';

  const service = (): Service => ({
    name,
    version,
    metadata: {},
    endpoints: [...router.endpoints(), ...subscriberEndpoints(pending)],
    nodes: node ? [node] : [],
  });

  return {
    get node() {
      return node;
    },

    health,

    handle(handlerName: string, methods: HandlerMethods, handleOpts?: HandleOptions): void {
      router.add(handlerName, methods, handleOpts);
    },

    subscribe<T>(
      topic: string,
      subscriber: Subscriber<T>,
      subOpts: ServerSubscribeOptions = {},
    ): void {
      if (!checkString('subscribe.topic', topic))
        throw new InvalidOptionError('subscribe.topic', 'a topic is required');
      if (typeof subscriber !== 'function')
        throw new InvalidOptionError('subscribe.subscriber', 'expected a function');
      if (state !== 'new') throw new InvalidOptionError('subscribe', 'subscribe before start()');
      const queue = checkString('subscribe.queue', subOpts.queue);
      const types = subOpts.endpointTypes;
      if (types !== undefined && (typeof types !== 'object' || types === null))
        throw new InvalidOptionError(
          'subscribe.endpointTypes',
          'expected { request?, requestSchema? }',
        );
      const published = publishedTypes(
        'subscribe.endpointTypes',
        topic,
        types === undefined
          ? undefined
          : {
              request: types.request,
              requestSchema: types.requestSchema,
              warnings: types.warnings,
            },
        logger,
      );
      const base: SubscriberFunc = async (msg, ctx) => {
        await subscriber(msg.body as T, ctx);
      };
      pending.push({
        topic,
        queue,
        run: composeWrappers(opts.wrapSubscriber, base),
        metadata: published.metadata,
        ...('request' in published ? { request: published.request } : {}),
      });
    },

    async start(): Promise<void> {
      if (state !== 'new') throw new Error(`server ${name} cannot start: it is ${state}`);
      state = 'starting';
      try {
        listener = await transport.listen(listenAddress, router);
        node = {
          id: nodeId,
          address: advertise ?? advertisable(listener.address),
          metadata: {
            ...labels,
            ...listener.metadata,
            broker: broker.name,
            registry: registry.name,
            server: protocolOf(transport),
            transport: transport.name,
            protocol: protocolOf(transport),
          },
        };
        if (healthOpts.httpAddress !== undefined) {
          httpListener = await listenHealthHttp(healthOpts.httpAddress, health);
          health.httpAddress = httpListener.address;
        }
        await broker.connect();
        for (const sub of pending) {
          subscriptions.push(
            await broker.subscribe(
              sub.topic,
              (m) => deliver(sub, m, opts.codecs, logger),
              sub.queue !== undefined ? { queue: sub.queue } : {},
            ),
          );
        }
        const r = new Registrar({
          registry,
          service,
          ttlMs,
          intervalMs,
          attempts,
          required: requireRegistration,
          logger,
        });
        registrar = r;
        // Every check's first run, then: listed while ready, withdrawn while not.
        await health.start();
        if (health.ready) await r.start();
        else
          logger.warn(
            { failing: health.report().checks.filter((c) => c.critical && c.status === 'down') },
            'not ready at start: serving, and registering once every critical check passes',
          );
        stopFollowingHealth = health.onChange(() => void (health.ready ? r.resume() : r.pause()));
        // A flip while registering is caught up on here.
        void (health.ready ? r.resume() : r.pause());
        state = 'started';
        logger.info(
          {
            node: node.id,
            address: node.address,
            transport: transportLabel(transport),
            registry: registry.name,
          },
          'server started',
        );
      } catch (err) {
        await release();
        state = 'stopped';
        throw new Error(`server ${name} failed to start: ${(err as Error).message}`, {
          cause: err,
        });
      }
    },

    async stop(): Promise<void> {
      if (state !== 'started') return;
      state = 'stopping';
      // Say NOT_SERVING first (grpc.health.v1 watchers, HTTP probes), then leave the registry so
      // callers stop picking this node; keep serving while their caches learn it; then stop
      // accepting and let in-flight requests finish (up to stopTimeoutMs).
      stopFollowingHealth?.();
      health.beginStop();
      await registrar?.stop();
      if (registrar?.everRegistered && drainDelayMs > 0)
        await new Promise((r) => setTimeout(r, drainDelayMs));
      const running = router.inflight;
      await release();
      state = 'stopped';
      logger.info(
        { node: node?.id, inflightAtClose: running, cutOff: router.inflight },
        'server stopped',
      );
    },
  };

  async function release(): Promise<void> {
    stopFollowingHealth?.();
    await Promise.allSettled(subscriptions.splice(0).map((s) => s.unsubscribe()));
    await listener?.close(stopTimeoutMs);
    listener = undefined;
    health.close();
    await httpListener?.close();
    httpListener = undefined;
  }
}

/** The crash-log window, ms, or undefined for no crash log. */
function resolveCrashLog(opt: ServerOptions['crashLog']): number | undefined {
  if (opt === false) return undefined;
  if (opt === undefined) return DEFAULTS.handlerErrorLogIntervalMs;
  if (typeof opt !== 'object' || opt === null)
    throw new InvalidOptionError('crashLog', 'expected false or { intervalMs? }');
  return (
    checkNumber('crashLog.intervalMs', opt.intervalMs, 0) ?? DEFAULTS.handlerErrorLogIntervalMs
  );
}

/**
 * What the log calls a transport: its own `toString()` when it has one (dual-path says both its
 * paths), else its `name` (which is what node metadata publishes for peers).
 */
function transportLabel(transport: Transport): string {
  // Every object has a toString(); Object's own says "[object Object]", which says nothing.
  const own = (transport as { toString(): string }).toString();
  return own === '[object Object]' ? transport.name : own;
}
