import { pino, type Level, type Logger as PinoLogger } from 'pino';
import type { CallWrapper } from '../client/client.js';
import { InvalidOptionError } from '../errors.js';
import { checkOneOf } from '../options.js';
import type { HandlerWrapper, SubscriberWrapper } from '../server/server.js';
import { attemptCounter, codeOf } from './shared.js';

/** Options for {@link requestLogging}. */
export interface LoggingOptions {
  /**
   * The pino logger to write to; the wrappers log through child loggers of it. @defaultValue pino
   * on stderr, level `info`
   */
  logger?: PinoLogger;
  /**
   * Metadata keys whose values never reach the log (`authorization`, `x-api-key`, ...); matched
   * case-insensitively. @defaultValue `['authorization']`
   */
  redact?: readonly string[];
  /**
   * Level of the line for a success; failures log at `warn` (4xx) or `error` (5xx). @defaultValue
   * `info`
   */
  level?: Level;
  /** Put the request metadata in each line (redacted keys censored). @defaultValue true */
  metadata?: boolean;
}

/** Logging wrappers sharing one logger. */
export interface RequestLogging {
  /** One line per attempt: service, endpoint, node, attempt, duration, error code. */
  readonly call: CallWrapper;
  /** One line per handled request: service, endpoint, caller address, duration, error code. */
  readonly handler: HandlerWrapper;
  /** One line per delivered event: topic, duration, error. */
  readonly subscriber: SubscriberWrapper;
}

const CENSOR = '[Redacted]';

/**
 * Structured request logging on pino: one JSON line per call attempt, per handled request and per
 * delivered event, with redaction of secret metadata done by pino's own `redact`.
 */
export function requestLogging(opts: LoggingOptions = {}): RequestLogging {
  const redact = (opts.redact ?? ['authorization']).map((k, i) => {
    if (typeof k !== 'string' || k === '')
      throw new InvalidOptionError(`redact[${i}]`, 'expected a metadata key');
    return k.toLowerCase();
  });
  const level =
    checkOneOf('level', opts.level, [
      'trace',
      'debug',
      'info',
      'warn',
      'error',
      'fatal',
    ] as const) ?? 'info';
  const withMetadata = opts.metadata ?? true;
  const base = opts.logger ?? pino({ level: 'info' }, pino.destination({ dest: 2, sync: false }));
  // Metadata keys are lowercased on the wire, so bracket paths match them exactly.
  const root = base.child(
    {},
    { redact: { paths: redact.map((k) => `metadata[${JSON.stringify(k)}]`), censor: CENSOR } },
  );
  const calls = root.child({ kind: 'call' });
  const handles = root.child({ kind: 'handle' });
  const events = root.child({ kind: 'subscribe' });
  const attemptOf = attemptCounter();

  /**
   * Runs `fn` and writes one line: at `level` on success, at warn/error with the code on failure.
   */
  async function logged<T>(
    log: PinoLogger,
    fields: Record<string, unknown>,
    metadata: unknown,
    what: string,
    fn: () => Promise<T>,
  ): Promise<T> {
    if (withMetadata) fields.metadata = metadata;
    const start = performance.now();
    try {
      const result = await fn();
      log[level]({ ...fields, durationMs: performance.now() - start }, what);
      return result;
    } catch (err) {
      const code = codeOf(err);
      log[code >= 500 ? 'error' : 'warn'](
        { ...fields, durationMs: performance.now() - start, code, err },
        `${what} failed`,
      );
      throw err;
    }
  }

  return {
    call: (next) => (ctx, node, req, o) =>
      logged(
        calls,
        {
          service: req.service,
          endpoint: req.endpoint,
          node: node.address,
          nodeId: node.id,
          attempt: attemptOf(req),
        },
        ctx.metadata,
        'call',
        () => next(ctx, node, req, o),
      ),
    handler: (next) => (req, ctx) =>
      logged(
        handles,
        { service: ctx.service, endpoint: ctx.endpoint, remote: req.remote },
        ctx.metadata,
        'handle',
        () => next(req, ctx),
      ),
    subscriber: (next) => (msg, ctx) =>
      logged(events, { topic: ctx.topic }, ctx.metadata, 'event', () => next(msg, ctx)),
  };
}
