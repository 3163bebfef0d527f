import { InvalidOptionError } from '../errors.js';
import type { Codec } from '../codec/codec.js';
import { findCodec } from '../codec/codec.js';
import { checkAddress, checkInteger, checkNumber, checkStringRecord } from '../options.js';
import type { CallOptions, ResolvedCallOptions } from './client.js';
import {
  checkAdaptiveTimeout,
  checkHedge,
  type ResolvedAdaptiveTimeout,
  type ResolvedHedge,
} from './tail-options.js';

/** The client-wide defaults that per-call options override. */
export interface CallDefaults {
  timeoutMs: number;
  retries: number;
  attemptTimeoutMs: number;
  contentType: string;
  /** Applies to idempotent calls only. */
  hedge?: ResolvedHedge;
  adaptiveAttemptTimeout?: ResolvedAdaptiveTimeout;
}

/**
 * Validates `opts` and merges them over the client's defaults, as go-micro copies its
 * CallOptions per call. The caller's object is never mutated.
 */
export function resolveCallOptions(
  defaults: CallDefaults,
  codecs: readonly Codec[],
  opts: CallOptions | undefined,
): { options: ResolvedCallOptions; codec: Codec } {
  const o = opts ?? {};
  const timeoutMs = checkNumber('call.timeoutMs', o.timeoutMs, 0) ?? defaults.timeoutMs;
  const retries = checkInteger('call.retries', o.retries, 0) ?? defaults.retries;
  const attemptTimeoutMs =
    checkNumber('call.attemptTimeoutMs', o.attemptTimeoutMs, 0) ?? defaults.attemptTimeoutMs;
  checkStringRecord('call.metadata', o.metadata);
  const contentType = o.contentType ?? defaults.contentType;
  const codec = findCodec(codecs, contentType);
  if (!codec)
    throw new InvalidOptionError(
      'call.contentType',
      `no codec for ${JSON.stringify(contentType)} (have ${codecs.map((c) => c.name).join(', ')})`,
    );
  let address: readonly string[] | undefined;
  if (o.address !== undefined) {
    address = typeof o.address === 'string' ? [o.address] : o.address;
    if (address.length === 0)
      throw new InvalidOptionError('call.address', 'expected at least one address');
    address.forEach((a, i) => checkAddress(`call.address[${i}]`, a));
  }
  const idempotent = o.idempotent ?? false;
  // Checked even where it will not apply: a bad option fails wherever it is given.
  const hedge = o.hedge === undefined ? defaults.hedge : checkHedge('call.hedge', o.hedge);
  const adaptive =
    o.adaptiveAttemptTimeout === undefined
      ? defaults.adaptiveAttemptTimeout
      : checkAdaptiveTimeout('call.adaptiveAttemptTimeout', o.adaptiveAttemptTimeout);
  const options: ResolvedCallOptions = {
    timeoutMs,
    retries,
    attemptTimeoutMs,
    idempotent,
    contentType: codec.contentType,
    filters: o.filters ?? [],
    ...(address ? { address } : {}),
    ...(hedge && idempotent ? { hedge } : {}),
    ...(adaptive ? { adaptiveAttemptTimeout: adaptive } : {}),
  };
  return { options, codec };
}
