import { InvalidOptionError } from '../errors.js';
import { checkBoolean, checkFunction, checkInteger, isList } from '../options.js';
import type {
  AuthorizeHook,
  CorsPolicy,
  RateLimitPolicy,
  RoutePolicy,
  RouteTarget,
} from './options.js';

/** A route's policy with the defaults applied. */
export interface ResolvedPolicy {
  /** Undefined: the client's own default budget applies. */
  readonly timeoutMs: number | undefined;
  readonly idempotent: boolean;
  readonly cors: CorsPolicy | false;
  readonly rateLimit: RateLimitPolicy | false;
  readonly authorize: AuthorizeHook | false;
  /** The `routes` key the rate limit came from (its budgets are per key of this). */
  readonly rateLimitScope: string;
}

/** `service/Handler.Method` or `service`: how {@link RoutePolicy} entries are keyed. */
export function targetKey(target: RouteTarget): string {
  return target.endpoint === undefined ? target.service : `${target.service}/${target.endpoint}`;
}

/**
 * Looks policies up by target, most specific first, field by field: the endpoint's entry, the
 * service's, the defaults; for `idempotent`, a contract endpoint's own before the defaults'. Resolved once
 * per target and kept (targets are few: the allowed services' endpoints).
 */
export function policyTable(
  defaults: RoutePolicy | undefined,
  routes: Readonly<Record<string, RoutePolicy>> | undefined,
  contractIdempotent: (target: RouteTarget) => boolean | undefined,
): (target: RouteTarget) => ResolvedPolicy {
  const base = checkPolicy('defaults', defaults ?? {});
  const entries = new Map<string, RoutePolicy>();
  for (const [key, policy] of Object.entries(routes ?? {}))
    entries.set(key, checkPolicy(`routes.${key}`, policy));
  const cache = new Map<string, ResolvedPolicy>();
  return (target) => {
    const key = targetKey(target);
    let resolved = cache.get(key);
    if (resolved) return resolved;
    const service = entries.get(target.service);
    const endpoint = target.endpoint === undefined ? undefined : entries.get(key);
    const layers: [string, RoutePolicy][] = [['', base]];
    if (service) layers.push([target.service, service]);
    if (endpoint) layers.push([key, endpoint]);
    /** The most specific layer that sets `field`, with its key. */
    const pick = <K extends keyof RoutePolicy>(field: K): [string, RoutePolicy[K]] | undefined => {
      for (let i = layers.length - 1; i >= 0; i--)
        if (layers[i][1][field] !== undefined) return [layers[i][0], layers[i][1][field]];
      return undefined;
    };
    const rate = pick('rateLimit');
    resolved = {
      timeoutMs: pick('timeoutMs')?.[1],
      idempotent:
        endpoint?.idempotent ??
        service?.idempotent ??
        contractIdempotent(target) ??
        base.idempotent ??
        false,
      cors: pick('cors')?.[1] ?? false,
      rateLimit: rate?.[1] ?? false,
      rateLimitScope: rate?.[0] ?? '',
      authorize: pick('authorize')?.[1] ?? false,
    };
    cache.set(key, resolved);
    return resolved;
  };
}

function checkPolicy(at: string, p: RoutePolicy): RoutePolicy {
  if (typeof p !== 'object' || p === null)
    throw new InvalidOptionError(
      at,
      'expected { timeoutMs, idempotent, cors, rateLimit, authorize }',
    );
  checkInteger(`${at}.timeoutMs`, p.timeoutMs, 1);
  checkBoolean(`${at}.idempotent`, p.idempotent);
  if (p.cors !== undefined && p.cors !== false) checkCors(`${at}.cors`, p.cors);
  if (p.rateLimit !== undefined && p.rateLimit !== false) {
    const r = p.rateLimit;
    if (typeof r !== 'object' || r === null)
      throw new InvalidOptionError(`${at}.rateLimit`, 'expected { points, windowMs }');
    if (checkInteger(`${at}.rateLimit.points`, r.points, 1) === undefined)
      throw new InvalidOptionError(`${at}.rateLimit.points`, 'required');
    if (checkInteger(`${at}.rateLimit.windowMs`, r.windowMs, 1) === undefined)
      throw new InvalidOptionError(`${at}.rateLimit.windowMs`, 'required');
    checkFunction(`${at}.rateLimit.key`, r.key);
  }
  if (p.authorize !== false) checkFunction(`${at}.authorize`, p.authorize);
  return p;
}

function checkCors(at: string, c: CorsPolicy): void {
  if (typeof c !== 'object' || c === null)
    throw new InvalidOptionError(at, 'expected { origins, ... } or false');
  const o = c.origins;
  if (o !== '*' && o !== true && !(isList(o) && o.every((x) => typeof x === 'string' && x !== '')))
    throw new InvalidOptionError(
      `${at}.origins`,
      'expected origins ["https://a.example"], "*" or true',
    );
  for (const list of ['methods', 'headers', 'exposedHeaders'] as const) {
    const v = c[list];
    if (v !== undefined && !(isList(v) && v.every((x) => typeof x === 'string' && x !== '')))
      throw new InvalidOptionError(`${at}.${list}`, 'expected a list of names');
  }
  checkBoolean(`${at}.credentials`, c.credentials);
  checkInteger(`${at}.maxAgeSec`, c.maxAgeSec, 0);
}
