import type { ConnectionOptions } from 'nats';
import { NATS_DEFAULTS } from '../../defaults.js';
import { InvalidOptionError } from '../../errors.js';
import { defaultLogger, type Logger } from '../../logger.js';
import { checkComponent, checkFunction, checkInteger, checkString } from '../../options.js';
import type { DurableConfig, NatsDurableOptions } from './durable.js';
import { ErrorCode, nkeyAuthenticator } from './nats-package.js';

/** Options for {@link natsBroker}. */
export interface NatsBrokerOptions {
  /** Server URL(s). @defaultValue `process.env.NATS_URL ?? 'nats://127.0.0.1:4222'` */
  servers?: string | readonly string[];
  /** Connection name shown by the NATS server's monitoring. @defaultValue none */
  name?: string;
  /** First connect: how long to wait before failing with 503, in ms. @defaultValue 5_000 */
  connectTimeoutMs?: number;
  /** First reconnect delay, in ms; doubles per failed attempt, with jitter. @defaultValue 250 */
  reconnectBaseMs?: number;
  /** Longest reconnect delay, in ms. @defaultValue 5_000 */
  reconnectMaxMs?: number;
  /**
   * Reconnect attempts before the connection closes for good; -1 = never give up. @defaultValue -1
   */
  maxReconnectAttempts?: number;
  /**
   * Bytes of publishes held while NATS is unreachable. A held publish resolves once the
   * reconnected connection flushed it; past the bound, or with 0, publish fails at once with
   * MicroError 503 (id `tsmicro.broker`). Nothing is dropped silently.
   * @defaultValue 8 MiB (nats.go's reconnect buffer)
   */
  outageBufferBytes?: number;
  /**
   * Durable, at-least-once delivery on JetStream for the topics matching `subjects`: publishes
   * wait for the stream's ack; a subscription with a queue group becomes a durable consumer
   * named after the group, acked only after the handler succeeded and redelivered after a
   * failure or a crash. Subscriptions without a queue stay core NATS (live messages only).
   * @defaultValue none (core NATS, at most once, as go-micro)
   */
  jetstream?: NatsDurableOptions;
  /** Credentials, for a server with authorization on. @defaultValue none */
  auth?: NatsAuthOptions;
  /** Where connection events and bad messages are logged. @defaultValue pino on stderr */
  logger?: Logger;
  /** Called when a handler rejects (after the broker counted it). @defaultValue none */
  onError?: (err: unknown, topic: string) => void;
}

/**
 * How the broker authenticates: one of user and password, a token, or an NKey seed (the server
 * then holds the user's public key). A refused login is MicroError 401 `tsmicro.broker`.
 */
export type NatsAuthOptions =
  { user: string; pass: string } | { token: string } | { nkeySeed: string };

/** {@link NatsBrokerOptions} with every default filled in. */
export interface ResolvedNatsOptions {
  servers: string[];
  name: string | undefined;
  connectTimeoutMs: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  maxReconnectAttempts: number;
  outageBufferBytes: number;
  durable: DurableConfig | undefined;
  auth: NatsAuthOptions | undefined;
  logger: Logger;
  onError: ((err: unknown, topic: string) => void) | undefined;
}

/**
 * Validates and completes the options once, at construction (InvalidOptionError naming the option).
 */
export function resolveNatsOptions(opts: NatsBrokerOptions): ResolvedNatsOptions {
  if (typeof opts !== 'object' || opts === null)
    throw new InvalidOptionError('natsBroker', 'expected an options object');
  const servers =
    opts.servers === undefined
      ? [process.env.NATS_URL ?? NATS_DEFAULTS.url]
      : typeof opts.servers === 'string'
        ? [opts.servers]
        : [...opts.servers];
  if (servers.length === 0)
    throw new InvalidOptionError('natsBroker.servers', 'at least one server is required');
  servers.forEach((s, i) => checkString(`natsBroker.servers[${i}]`, s));
  const d = NATS_DEFAULTS;
  const maxReconnectAttempts =
    checkInteger('natsBroker.maxReconnectAttempts', opts.maxReconnectAttempts, -1) ??
    d.maxReconnectAttempts;
  const reconnectBaseMs =
    checkInteger('natsBroker.reconnectBaseMs', opts.reconnectBaseMs, 1) ?? d.reconnectBaseMs;
  const reconnectMaxMs =
    checkInteger('natsBroker.reconnectMaxMs', opts.reconnectMaxMs, 1) ?? d.reconnectMaxMs;
  if (reconnectMaxMs < reconnectBaseMs)
    throw new InvalidOptionError(
      'natsBroker.reconnectMaxMs',
      `must be ≥ reconnectBaseMs (${reconnectBaseMs})`,
    );
  return {
    servers,
    name: checkString('natsBroker.name', opts.name),
    connectTimeoutMs:
      checkInteger('natsBroker.connectTimeoutMs', opts.connectTimeoutMs, 1) ?? d.connectTimeoutMs,
    reconnectBaseMs,
    reconnectMaxMs,
    maxReconnectAttempts,
    outageBufferBytes:
      checkInteger('natsBroker.outageBufferBytes', opts.outageBufferBytes, 0) ??
      d.outageBufferBytes,
    durable: resolveDurable(opts.jetstream),
    auth: resolveAuth(opts.auth),
    logger:
      checkComponent('natsBroker.logger', opts.logger, ['warn', 'error']) ??
      defaultLogger({ component: 'broker/nats' }),
    onError: checkFunction('natsBroker.onError', opts.onError),
  };
}

function resolveDurable(js: NatsDurableOptions | undefined): DurableConfig | undefined {
  if (js === undefined) return undefined;
  if (typeof js !== 'object' || js === null)
    throw new InvalidOptionError('natsBroker.jetstream', 'expected an object');
  const stream = checkString('natsBroker.jetstream.stream', js.stream);
  if (!stream || /[.*>\s/\\]/.test(stream))
    throw new InvalidOptionError(
      'natsBroker.jetstream.stream',
      'a stream name without ".", "*", ">", "/" or spaces is required',
    );
  // Checked through an unknown: Array.isArray would narrow `js.subjects` itself to any[].
  const subjects: unknown = js.subjects;
  if (!Array.isArray(subjects) || subjects.length === 0)
    throw new InvalidOptionError(
      'natsBroker.jetstream.subjects',
      'at least one subject is required',
    );
  js.subjects.forEach((s, i) => checkString(`natsBroker.jetstream.subjects[${i}]`, s));
  const d = NATS_DEFAULTS;
  return {
    stream,
    subjects: [...js.subjects],
    ackWaitMs: checkInteger('natsBroker.jetstream.ackWaitMs', js.ackWaitMs, 1) ?? d.ackWaitMs,
    maxDeliver: checkMaxDeliver(js.maxDeliver) ?? d.maxDeliver,
    redeliveryDelayMs:
      checkInteger('natsBroker.jetstream.redeliveryDelayMs', js.redeliveryDelayMs, 0) ??
      d.redeliveryDelayMs,
    pullBatch: checkInteger('natsBroker.jetstream.pullBatch', js.pullBatch, 1) ?? d.pullBatch,
    publishTimeoutMs:
      checkInteger('natsBroker.jetstream.publishTimeoutMs', js.publishTimeoutMs, 1) ??
      d.publishTimeoutMs,
  };
}

function checkMaxDeliver(value: unknown): number | undefined {
  const n = checkInteger('natsBroker.jetstream.maxDeliver', value, -1);
  if (n === 0)
    throw new InvalidOptionError(
      'natsBroker.jetstream.maxDeliver',
      'must be -1 (never give up) or ≥ 1',
    );
  return n;
}

function resolveAuth(auth: NatsAuthOptions | undefined): NatsAuthOptions | undefined {
  if (auth === undefined) return undefined;
  if (typeof auth !== 'object' || auth === null)
    throw new InvalidOptionError(
      'natsBroker.auth',
      'expected { user, pass }, { token } or { nkeySeed }',
    );
  const kinds = ['user' in auth, 'token' in auth, 'nkeySeed' in auth].filter(Boolean).length;
  if (kinds !== 1)
    throw new InvalidOptionError(
      'natsBroker.auth',
      'give exactly one of { user, pass }, { token } or { nkeySeed }',
    );
  if ('user' in auth) {
    checkString('natsBroker.auth.user', auth.user);
    if (typeof auth.pass !== 'string')
      throw new InvalidOptionError('natsBroker.auth.pass', 'expected a string');
    return { user: auth.user, pass: auth.pass };
  }
  if ('token' in auth) return { token: checkString('natsBroker.auth.token', auth.token)! };
  const seed = checkString('natsBroker.auth.nkeySeed', auth.nkeySeed)!;
  // A user seed is base32 starting with "SU"; anything else is a mistake nats.js would only report
  // on connect.
  if (!/^SU[A-Z2-7]{56}$/.test(seed))
    throw new InvalidOptionError(
      'natsBroker.auth.nkeySeed',
      'expected a user NKey seed (58 characters starting with "SU")',
    );
  return { nkeySeed: seed };
}

/** The nats.js connect options for `auth`. */
export function natsAuth(
  auth: NatsAuthOptions | undefined,
): Pick<ConnectionOptions, 'user' | 'pass' | 'token' | 'authenticator'> {
  if (!auth) return {};
  if ('user' in auth) return { user: auth.user, pass: auth.pass };
  if ('token' in auth) return { token: auth.token };
  return { authenticator: nkeyAuthenticator(new TextEncoder().encode(auth.nkeySeed)) };
}

/** True for nats.js's "the server refused these credentials" errors. */
export function isAuthError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    code === ErrorCode.AuthorizationViolation ||
    code === ErrorCode.AuthenticationExpired ||
    code === ErrorCode.AuthenticationTimeout
  );
}
