import {
  brokerFromConfig,
  bytesCodec,
  createClient,
  jsonCodec,
  readConfig,
  registryFromConfig,
  registrySelector,
  transportFromConfig,
  dualPathTransport,
  memoryBroker,
  type Broker,
  type Client,
  type Codec,
  type Config,
  type Logger,
  type Registry,
  type Selector,
  type Transport,
} from '../index.js';
import { pino } from 'pino';
import { UsageError } from './errors.js';

/**
 * What the verbs share: the settings (the same flags and `MICRO_*` variables as services), and
 * the registry, broker, transport and client they name, each made the first time a verb needs it
 * and closed when the command ends. Built only on the public API.
 */
export interface CliContext {
  readonly config: Config;
  /** Where the verbs' own logs go: stderr, warnings and worse unless TSMICRO_LOG_LEVEL says. */
  readonly logger: Logger;
  registry(): Promise<Registry>;
  /** Connected. */
  broker(): Promise<Broker>;
  transport(): Transport;
  /**
   * A client on the registry and transport, with `codecs` first when given (`--proto`); it
   * publishes on `broker` when given.
   */
  client(codecs?: readonly Codec[], broker?: Broker): Promise<Client>;
  /** Closes whatever was made. */
  close(): Promise<void>;
}

/** The context for the settings in `flags` (the global options as argument text) and the environment. */
export function cliContext(flags: readonly string[]): CliContext {
  const config = readConfig({ flags, env: process.env });
  const logger: Logger = pino(
    { level: process.env.TSMICRO_LOG_LEVEL ?? 'warn' },
    pino.destination({ dest: 2, sync: true }),
  );
  const closers: (() => Promise<void>)[] = [];
  let registry: Promise<Registry> | undefined;
  let broker: Promise<Broker> | undefined;
  let transport: Transport | undefined;
  let selector: Selector | undefined;

  const ctx: CliContext = {
    config,
    logger,
    registry() {
      registry ??= registryFromConfig(config, { logger }).then((r) => {
        closers.push(() => r.close());
        return r;
      });
      return registry;
    },
    broker() {
      broker ??= ctx.registry().then(async (r) => {
        const b = await brokerFromConfig(config, { registry: r, logger });
        // The in-process broker reaches nobody outside this command: publishing there would
        // succeed and deliver nothing, and a subscription would never receive.
        if (b.name === 'memory')
          throw new UsageError(
            'the memory broker lives in one process: name a shared one with --broker / MICRO_BROKER (nats, http)',
          );
        await b.connect();
        closers.push(() => b.disconnect());
        return b;
      });
      return broker;
    },
    transport() {
      if (!transport) {
        const t = transportFromConfig(config) ?? dualPathTransport();
        closers.push(() => t.close());
        transport = t;
      }
      return transport;
    },
    async client(codecs = [], withBroker) {
      const r = await ctx.registry();
      if (!selector) {
        const s = registrySelector({ registry: r, logger });
        closers.push(() => s.close());
        selector = s;
      }
      const { timeoutMs, retries } = config.values;
      return createClient({
        selector,
        transport: ctx.transport(),
        // Calls never publish: only the verbs that do make the broker.
        broker: withBroker ?? memoryBroker(),
        codecs: [...codecs, jsonCodec(), bytesCodec()],
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
        ...(retries === undefined ? {} : { retries }),
      });
    },
    async close() {
      // Newest first: the selector before the registry it watches.
      for (const close of closers.reverse()) await close().catch(() => {});
    },
  };
  return ctx;
}
