import { InvalidOptionError, MicroError } from '../errors.js';
import { isReservedKey, type Metadata } from '../metadata.js';
import { parseGoDuration } from '../config/values.js';
import { checkString, isList } from '../options.js';
import { GATEWAY_ERROR_ID } from './errors.js';

/**
 * Which HTTP headers become call metadata, and the deadline a request asks for. go-micro's API
 * passes every header on; here only those named or carrying an allowed prefix pass, so a browser's
 * cookies or a proxy's internals never reach a service unless the gateway is told to send them.
 */

/** Headers that name the call's deadline: a whole number of ms, or a Go duration (`1.5s`). */
export const TIMEOUT_HEADERS = ['x-micro-timeout', 'timeout'] as const;

/** Forwarded by default: credentials the auth wrapper reads, and W3C trace context. */
export const DEFAULT_FORWARD_HEADERS = ['authorization', 'traceparent', 'tracestate', 'baggage'];

/** Forwarded by default, as go-micro forwards custom headers. */
export const DEFAULT_FORWARD_PREFIXES = ['x-'];

/** Never forwarded whatever the rules say: the gateway's own controls and per-hop headers. */
const NEVER = new Set<string>([...TIMEOUT_HEADERS, 'x-forwarded-host', 'x-real-ip']);

/** The metadata of a request's headers under the forwarding rules. */
export type HeaderRules = (
  headers: Readonly<Record<string, string | string[] | undefined>>,
) => Metadata;

/** Checks the rules (naming a bad one) and returns the function that applies them. */
export function headerRules(
  names: readonly string[] | undefined,
  prefixes: readonly string[] | undefined,
): HeaderRules {
  const exact = new Set(checkNames('forwardHeaders', names ?? DEFAULT_FORWARD_HEADERS));
  const starts = checkNames('forwardPrefixes', prefixes ?? DEFAULT_FORWARD_PREFIXES);
  return (headers) => {
    const out: Record<string, string> = {};
    for (const name of Object.keys(headers)) {
      // Node lowercases incoming header names.
      if (NEVER.has(name) || isReservedKey(name)) continue;
      if (!exact.has(name) && !starts.some((p) => name.startsWith(p))) continue;
      const value = headers[name];
      if (value === undefined) continue;
      out[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    return out;
  };
}

function checkNames(at: string, list: unknown): string[] {
  if (!isList(list)) throw new InvalidOptionError(at, 'expected a list of header names');
  return list.map((n, i) => checkString(`${at}[${i}]`, n)!.toLowerCase());
}

/**
 * The deadline a request names, ms, or undefined when it names none. A malformed or
 * non-positive value is the caller's 400; one above `maxMs` is capped at it.
 */
export function requestTimeout(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  maxMs: number,
): number | undefined {
  for (const name of TIMEOUT_HEADERS) {
    const raw = headers[name];
    if (raw === undefined) continue;
    const text = (Array.isArray(raw) ? raw[0] : raw).trim();
    const ms = /^\d+$/.test(text) ? Number(text) : parseGoDuration(text);
    if (ms === undefined || !(ms > 0))
      throw MicroError.badRequest(
        GATEWAY_ERROR_ID,
        `header ${name}: expected milliseconds or a duration like "1.5s", got ${JSON.stringify(text)}`,
      );
    return Math.min(Math.ceil(ms), maxMs);
  }
  return undefined;
}
