import type { Redis as RedisClient } from 'ioredis';
import type { RateLimiterRes } from 'rate-limiter-flexible';
import type { CallOptions, ClientWrapper } from '../client/client.js';
import { WRAPPER_DEFAULTS } from '../defaults.js';
import { InvalidOptionError, MicroError } from '../errors.js';
import { importPeers } from '../internal/optional-peer.js';
import { defaultLogger, type Logger } from '../logger.js';
import { checkFunction, checkInteger, checkNumber, checkOneOf, checkString } from '../options.js';
import type { HandlerWrapper } from '../server/server.js';
import { RATE_LIMIT_ERROR_ID } from './ratelimit.js';
import { endpointKey } from './shared.js';
import { BucketMap } from './token-bucket.js';

const peers = await importPeers('tsmicro/wrappers/global-ratelimit', {
  'rate-limiter-flexible': () => import('rate-limiter-flexible'),
  ioredis: () => import('ioredis'),
});
const { RateLimiterRedis, RateLimiterRes: LimitedRes } = peers['rate-limiter-flexible'];
const Redis = peers.ioredis.Redis;

/** Where a {@link GlobalRateLimiter} counts now. */
export type GlobalRateLimitMode = 'shared' | 'fallback';

/** Options for {@link globalRateLimiter}. */
export interface GlobalRateLimitOptions {
  /**
   * Calls allowed per second per key, by all instances sharing the store together (counted in
   * one-second windows in Redis). Required.
   */
  rate: number;
  /**
   * The shared store: a Redis URL (`redis://127.0.0.1:6379`; the limiter then makes its own
   * ioredis client, and closes it on {@link GlobalRateLimiter.close}) or an ioredis client of
   * yours (give it `enableOfflineQueue: false`, so a command fails at once while it is
   * disconnected). Required.
   */
  redis: string | RedisClient;
  /**
   * The limit each instance applies alone while the store is unreachable, per key (a token
   * bucket, as `rateLimiter`'s). Typically `rate` divided by the number of instances. Required:
   * what an outage should allow is a choice only the service's owner can make.
   */
  fallback: { rate: number; burst?: number };
  /**
   * What is counted together: each `service.endpoint` (`endpoint`), or all endpoints of a
   * service (`service`). @defaultValue 'endpoint'
   */
  per?: 'endpoint' | 'service';
  /**
   * Server side: a metadata key naming the caller (e.g. `x-tenant`): each value then gets its own
   * count, so one busy caller cannot use up the others' share. Callers without it share one.
   */
  callerKey?: string;
  /** Prefix of the limiter's Redis keys. @defaultValue 'tsmicro:rl' */
  keyPrefix?: string;
  /**
   * Longest a store command may take before the call is judged by the fallback instead (and the
   * store counted as unreachable until a command succeeds again: the next one is tried a second
   * later, or as soon as a lost connection is back), ms. @defaultValue 100
   */
  storeTimeoutMs?: number;
  /** Where the switch to the fallback and back is logged (once each way). */
  logger?: Logger;
  /** Called when the limiter switches between the shared count and the fallback. */
  onModeChange?: (mode: GlobalRateLimitMode) => void;
}

/** Client and server limiters sharing one count in the store. */
export interface GlobalRateLimiter {
  /** Limits the calls all clients using the store send, per service (or service.endpoint). */
  readonly client: ClientWrapper;
  /** Limits the requests all nodes of a service handle, per endpoint (and caller). */
  readonly handler: HandlerWrapper;
  /** Where the limiter counts now (`fallback` also until its first connection is made). */
  mode(): GlobalRateLimitMode;
  /** Closes the Redis client the limiter made (one you gave it stays yours). */
  close(): Promise<void>;
}

/**
 * A rate limit shared by every instance (YouTube's Doorman, in spirit): the count lives in Redis
 * (rate-limiter-flexible's atomic Lua counter over ioredis), so three nodes given 200/s together
 * serve 200/s, not 600. A call over the limit fails fast with a 429 `tsmicro.ratelimit` whose
 * detail says when to retry. When the store is unreachable the limiter switches at once to a
 * per-instance token bucket (`fallback`) — no call waits on a dead store — logs it once, and
 * returns to the shared count as soon as the connection is back (or, when a command failed or
 * timed out on a connection that stayed up, as soon as one a second later succeeds).
 */
export function globalRateLimiter(opts: GlobalRateLimitOptions): GlobalRateLimiter {
  if (typeof opts !== 'object' || opts === null)
    throw new InvalidOptionError('options', 'expected { rate, redis, fallback }');
  const rate: number = checkInteger('rate', opts.rate, 1) ?? missing('rate', 'calls per second');
  const fallback = opts.fallback as { rate: number; burst?: number } | undefined;
  if (typeof fallback !== 'object' || fallback === null)
    throw new InvalidOptionError('fallback', 'is required ({ rate, burst? }, per instance)');
  const fallbackRate: number =
    checkNumber('fallback.rate', fallback.rate, Number.MIN_VALUE) ??
    missing('fallback.rate', 'calls per second per instance');
  const fallbackBurst =
    checkNumber('fallback.burst', fallback.burst, 1) ?? Math.max(1, fallbackRate);
  const per = checkOneOf('per', opts.per, ['endpoint', 'service']) ?? 'endpoint';
  const callerKey = checkString('callerKey', opts.callerKey)?.toLowerCase();
  const keyPrefix = checkString('keyPrefix', opts.keyPrefix) ?? 'tsmicro:rl';
  const storeTimeoutMs = checkNumber('storeTimeoutMs', opts.storeTimeoutMs, 1) ?? 100;
  const onModeChange = checkFunction('onModeChange', opts.onModeChange);
  const logger = opts.logger ?? defaultLogger({ component: 'global-ratelimit' });

  let redis: RedisClient;
  let owned = false;
  if (typeof opts.redis === 'string') {
    if (!/^rediss?:\/\//.test(opts.redis))
      throw new InvalidOptionError('redis', 'expected a redis:// URL or an ioredis client');
    redis = new Redis(opts.redis, {
      // Never queue a command while disconnected: it fails at once and the fallback decides.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: storeTimeoutMs,
      // Reconnect soon after the store is back, never hammering it while it is away.
      retryStrategy: (times) => Math.min(times * 100, 1_000),
    });
    owned = true;
  } else if (
    typeof opts.redis === 'object' &&
    opts.redis !== null &&
    typeof (opts.redis as { on?: unknown }).on === 'function'
  ) {
    redis = opts.redis;
  } else throw new InvalidOptionError('redis', 'expected a redis:// URL or an ioredis client');

  const limiter = new RateLimiterRedis({
    storeClient: redis,
    points: rate,
    duration: 1,
    keyPrefix,
    rejectIfRedisNotReady: true,
  });
  const buckets = new BucketMap(fallbackRate, fallbackBurst, WRAPPER_DEFAULTS.rateLimitMaxKeys);

  let shared =
    redis.status === 'ready' || redis.status === 'connecting' || redis.status === 'connect';
  const setMode = (next: GlobalRateLimitMode, err?: unknown): void => {
    if ((next === 'shared') === shared) return;
    shared = next === 'shared';
    if (shared) logger.info({ rate }, 'rate limit store is back: counting shared again');
    else
      logger.warn(
        { err, fallback: fallbackRate },
        'rate limit store unreachable: each instance limits alone until it is back',
      );
    try {
      onModeChange?.(next);
    } catch (hookErr) {
      logger.warn({ err: hookErr }, 'onModeChange hook failed');
    }
  };
  const onReady = (): void => setMode('shared');
  const onDown = (): void => setMode('fallback', new Error('connection to the store closed'));
  // Without an 'error' listener ioredis prints every failed reconnect; the switch is logged once.
  const onError = (err: unknown): void => setMode('fallback', err);
  redis.on('ready', onReady);
  redis.on('close', onDown);
  redis.on('end', onDown);
  redis.on('error', onError);

  const limited = (what: string, retryMs: number): MicroError =>
    MicroError.tooManyRequests(
      RATE_LIMIT_ERROR_ID,
      `global rate limit of ${rate}/s exceeded for ${what}: retry in ${Math.max(1, Math.ceil(retryMs))} ms`,
    );

  // A store command that failed or timed out on a connection that stays up (a busy Redis, a
  // network hiccup) fires no 'ready' when the store recovers, so the limiter tries the store
  // again after a pause instead of waiting for a reconnect that may never come.
  let retryStoreAt = 0;

  /** Takes one from the key's count, or throws 429. */
  async function admit(key: string, what: string): Promise<void> {
    if (redis.status === 'ready' && (shared || Date.now() >= retryStoreAt)) {
      let res: RateLimiterRes | Error | undefined;
      try {
        await withTimeout(limiter.consume(key), storeTimeoutMs);
        setMode('shared');
        return;
      } catch (err) {
        res = err as RateLimiterRes | Error;
      }
      if (res instanceof LimitedRes) {
        setMode('shared');
        throw limited(what, res.msBeforeNext);
      }
      retryStoreAt = Date.now() + WRAPPER_DEFAULTS.globalRateLimitStoreRetryMs;
      setMode('fallback', res);
    }
    // The fallback: this instance's own bucket, as if alone.
    if (buckets.get(key).take(0) === undefined) throw limited(what, 1_000 / fallbackRate);
  }

  const scoped = (service: string, endpoint: string): string =>
    per === 'service' ? service : endpointKey(service, endpoint);

  return {
    client: (next) => ({
      async call<Res, Req>(
        service: string,
        endpoint: string,
        request: Req,
        callOpts?: CallOptions,
      ): Promise<Res> {
        await admit(`c:${scoped(service, endpoint)}`, `${service} ${endpoint}`);
        return next.call<Res, Req>(service, endpoint, request, callOpts);
      },
      stream: (service, endpoint, o) => next.stream(service, endpoint, o),
      publish: (topic, message, o) => next.publish(topic, message, o),
    }),
    handler: (next) => async (req, ctx) => {
      const caller = callerKey === undefined ? '' : `|${ctx.metadata[callerKey] ?? ''}`;
      await admit(`s:${scoped(ctx.service, ctx.endpoint)}${caller}`, ctx.endpoint);
      return next(req, ctx);
    },
    mode: () => (shared && redis.status === 'ready' ? 'shared' : 'fallback'),
    async close() {
      redis.off('ready', onReady);
      redis.off('close', onDown);
      redis.off('end', onDown);
      redis.off('error', onError);
      if (owned) redis.disconnect();
    },
  };
}

function missing(name: string, what: string): never {
  throw new InvalidOptionError(name, `is required (${what})`);
}

/** Rejects once `ms` pass: a store that accepts a command but never answers must not hold a call. */
function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`store did not answer within ${ms} ms`)), ms);
    work.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rate-limiter-flexible rejects with a RateLimiterRes when limited
        reject(err);
      },
    );
  });
}
