import type { JWTPayload, JWTVerifyGetKey, JWTVerifyOptions, KeyInput } from 'jose';
import type { CallOptions, ClientWrapper } from '../client/client.js';
import { currentContext, runWithContext, type HandlerContext } from '../context.js';
import { WRAPPER_DEFAULTS } from '../defaults.js';
import { InvalidOptionError, MicroError } from '../errors.js';
import { importPeers } from '../internal/optional-peer.js';
import { checkNumber } from '../options.js';
import type { Metadata } from '../metadata.js';
import type { HandlerWrapper } from '../server/server.js';

const { errors: joseErrors, jwtVerify } = (
  await importPeers('tsmicro/wrappers/auth', { jose: () => import('jose') })
).jose;

/** The id of the errors the auth wrapper answers with (401 and 403). */
export const AUTH_ERROR_ID = 'tsmicro.auth';

/** Metadata key of the bearer token, as HTTP and gRPC send it. */
export const AUTHORIZATION_KEY = 'authorization';

/**
 * Metadata keys the server wrapper sets from a verified token and nothing else: whatever a caller
 * sends under the `x-auth-` prefix is dropped before the handler runs, so a handler (and the
 * calls it makes) can trust these.
 */
export const AUTH_SUBJECT_KEY = 'x-auth-subject';
/** Space-separated scopes of the verified token (see {@link AUTH_SUBJECT_KEY}). */
export const AUTH_SCOPES_KEY = 'x-auth-scopes';
const INTERNAL_PREFIX = 'x-auth-';

/** Who may call an endpoint: anyone, or any caller with a valid token (optionally with a scope). */
export type Access = 'public' | 'authenticated';

/** One per-endpoint rule; the most specific rule naming an endpoint wins. */
export interface AuthRule {
  /** `Handler.Method` exactly, `Handler.*` for every method of a handler, or `*`. */
  endpoint: string;
  /** @defaultValue `'authenticated'` */
  access?: Access;
  /**
   * With `authenticated`: the token must carry at least one of these scopes (claim `scope`,
   * space-separated as OAuth 2, or `scopes`, an array), else 403.
   */
  scopes?: readonly string[];
}

/**
 * The key that verifies tokens: an HMAC secret (string or bytes), a public key (KeyObject,
 * CryptoKey or JWK), or a key resolver such as jose's `createRemoteJWKSet(url)`.
 */
export type VerificationKey = string | KeyInput | JWTVerifyGetKey;

/** Options for {@link authHandler}. */
export interface AuthHandlerOptions {
  /** Verifies token signatures (a string is an HMAC secret, UTF-8). Required. */
  key: VerificationKey;
  /** Accepted `iss` claim(s). @defaultValue any */
  issuer?: string | readonly string[];
  /** Required `aud` claim(s). @defaultValue any */
  audience?: string | readonly string[];
  /** Accepted algorithms. @defaultValue `['HS256']` for a secret, jose's choice for keys */
  algorithms?: readonly string[];
  /**
   * Clock skew tolerated on `exp`/`nbf`, ms. @defaultValue `WRAPPER_DEFAULTS.authClockToleranceMs`
   * (5000)
   */
  clockToleranceMs?: number;
  /** Per-endpoint rules. */
  rules?: readonly AuthRule[];
  /** Access for endpoints no rule names. @defaultValue `'authenticated'` (closed by default) */
  defaultAccess?: Access;
}

/** Options for {@link authClient}. */
export interface AuthClientOptions {
  /** The bearer token, or a function giving it per call (e.g. from a cache that refreshes it). */
  token: string | (() => string | Promise<string>);
}

/**
 * Server side of bearer-token auth: verifies the `authorization: Bearer <JWT>` metadata with
 * `jose` against the endpoint's rule. No or bad token where one is needed → MicroError 401
 * `tsmicro.auth`; a valid token without a required scope → 403. The handler sees the verified
 * subject and scopes under {@link AUTH_SUBJECT_KEY} / {@link AUTH_SCOPES_KEY}; callers cannot set
 * those keys themselves.
 */
export function authHandler(opts: AuthHandlerOptions): HandlerWrapper {
  if (typeof opts !== 'object' || opts === null)
    throw new InvalidOptionError('options', 'expected an object with a key');
  const key = checkKey(opts.key);
  const rules = checkRules(opts.rules ?? []);
  const defaultAccess = checkAccess('defaultAccess', opts.defaultAccess) ?? 'authenticated';
  const verifyOptions: JWTVerifyOptions = {
    // jose counts the tolerance in seconds, as JWT times are.
    clockTolerance:
      (checkNumber('clockToleranceMs', opts.clockToleranceMs) ??
        WRAPPER_DEFAULTS.authClockToleranceMs) / 1000,
    ...(opts.issuer !== undefined ? { issuer: [opts.issuer].flat() } : {}),
    ...(opts.audience !== undefined ? { audience: [opts.audience].flat() } : {}),
    ...(opts.algorithms
      ? { algorithms: [...opts.algorithms] }
      : typeof opts.key === 'string' || opts.key instanceof Uint8Array
        ? { algorithms: ['HS256'] }
        : {}),
  };
  const verify = async (token: string): Promise<JWTPayload> =>
    (await jwtVerify(token, key, verifyOptions)).payload;

  return (next) => async (req, ctx) => {
    const rule = ruleFor(rules, ctx.endpoint) ?? { endpoint: '*', access: defaultAccess };
    const required = (rule.access ?? 'authenticated') === 'authenticated';
    const base = withoutInternalKeys(ctx.metadata);
    const token = bearerToken(ctx.metadata[AUTHORIZATION_KEY]);
    let claims: JWTPayload | undefined;
    if (token !== undefined) {
      try {
        claims = await verify(token);
      } catch (err) {
        // A public endpoint serves a caller with a bad token as anonymous.
        if (required)
          throw MicroError.unauthorized(AUTH_ERROR_ID, `${ctx.endpoint}: ${whyInvalid(err)}`);
      }
    }
    if (required && !claims)
      throw MicroError.unauthorized(
        AUTH_ERROR_ID,
        `${ctx.endpoint} needs a bearer token (metadata "authorization: Bearer <JWT>")`,
      );
    const scopes = claims ? scopesOf(claims) : [];
    if (
      required &&
      rule.scopes &&
      rule.scopes.length > 0 &&
      !rule.scopes.some((s) => scopes.includes(s))
    ) {
      throw MicroError.forbidden(
        AUTH_ERROR_ID,
        `${ctx.endpoint} needs scope ${rule.scopes.join(' or ')}`,
      );
    }
    const metadata: Metadata = claims
      ? {
          ...base,
          [AUTH_SUBJECT_KEY]: typeof claims.sub === 'string' ? claims.sub : '',
          [AUTH_SCOPES_KEY]: scopes.join(' '),
        }
      : base;
    if (metadata === ctx.metadata) return next(req, ctx);
    const authed: HandlerContext = { ...ctx, metadata };
    // Calls the handler makes inherit the cleaned metadata, not what the caller sent. A server
    // without implicit context has no current context to replace (and must not switch
    // AsyncLocalStorage on): there the handler hands `authed` on itself.
    if (currentContext() === undefined) return next(req, authed);
    return runWithContext(authed, () => next(req, authed));
  };
}

/**
 * Client side: attaches `authorization: Bearer <token>` to every call and stream (the token
 * function runs once per call). A token in the call's own metadata is left alone.
 */
export function authClient(opts: AuthClientOptions): ClientWrapper {
  if (typeof opts !== 'object' || opts === null)
    throw new InvalidOptionError('options', 'expected an object with a token');
  const { token } = opts;
  if (typeof token !== 'function' && (typeof token !== 'string' || token === ''))
    throw new InvalidOptionError('token', 'expected a non-empty string or a function');
  const withToken = async (callOpts: CallOptions | undefined): Promise<CallOptions> => {
    if (
      callOpts?.metadata?.[AUTHORIZATION_KEY] !== undefined ||
      callOpts?.metadata?.Authorization !== undefined
    )
      return callOpts ?? {};
    let value: unknown = token;
    if (typeof token === 'function') {
      try {
        value = await token();
      } catch (err) {
        // The caller's token source failed: a typed error, as every failure of a call is.
        throw new MicroError(
          AUTH_ERROR_ID,
          401,
          `no token: ${err instanceof Error ? err.message : String(err)}`,
          undefined,
          { cause: err },
        );
      }
    }
    if (typeof value !== 'string' || value === '')
      throw MicroError.unauthorized(AUTH_ERROR_ID, 'the token function gave no token');
    return {
      ...callOpts,
      metadata: { ...callOpts?.metadata, [AUTHORIZATION_KEY]: `Bearer ${value}` },
    };
  };
  return (next) => ({
    call: async (service, endpoint, request, callOpts) =>
      next.call(service, endpoint, request, await withToken(callOpts)),
    stream: async (service, endpoint, callOpts) =>
      next.stream(service, endpoint, await withToken(callOpts)),
    publish: (topic, message, o) => next.publish(topic, message, o),
  });
}

/**
 * The token of an `authorization` value `Bearer <token>` (scheme case-insensitive), else undefined.
 */
function bearerToken(value: string | undefined): string | undefined {
  const m = value === undefined ? null : /^bearer\s+(\S+)\s*$/i.exec(value);
  return m?.[1];
}

function withoutInternalKeys(md: Metadata): Metadata {
  let clean: Record<string, string> | undefined;
  for (const k of Object.keys(md)) {
    if (!k.startsWith(INTERNAL_PREFIX)) continue;
    clean ??= { ...md };
    delete clean[k];
  }
  return clean ?? md;
}

function scopesOf(claims: JWTPayload): string[] {
  if (typeof claims.scope === 'string') return claims.scope.split(' ').filter(Boolean);
  if (Array.isArray(claims.scopes))
    return claims.scopes.filter((s): s is string => typeof s === 'string');
  return [];
}

/** Most specific first: the exact endpoint, then `Handler.*`, then `*`. */
function ruleFor(rules: ReadonlyMap<string, AuthRule>, endpoint: string): AuthRule | undefined {
  const dot = endpoint.indexOf('.');
  return (
    rules.get(endpoint) ??
    (dot > 0 ? rules.get(`${endpoint.slice(0, dot)}.*`) : undefined) ??
    rules.get('*')
  );
}

function whyInvalid(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'token expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed)
    return `token rejected (${err.claim} ${err.reason})`;
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'token signature invalid';
  if (err instanceof joseErrors.JOSEError) return `invalid token (${err.code})`;
  return 'invalid token';
}

function checkKey(key: unknown): KeyInput | JWTVerifyGetKey {
  if (typeof key === 'string') {
    if (key.length < 16)
      throw new InvalidOptionError('key', 'an HMAC secret needs at least 16 characters');
    return new TextEncoder().encode(key);
  }
  // KeyObject and CryptoKey have a `type`, a JWK a `kty`; jose checks the rest on first use.
  if (
    key instanceof Uint8Array ||
    typeof key === 'function' ||
    (typeof key === 'object' && key !== null && ('type' in key || 'kty' in key))
  ) {
    return key as KeyInput | JWTVerifyGetKey;
  }
  throw new InvalidOptionError(
    'key',
    'expected a secret, a public key, a JWK or a key resolver (createRemoteJWKSet)',
  );
}

function checkAccess(option: string, value: unknown): Access | undefined {
  if (value === undefined || value === 'public' || value === 'authenticated') return value;
  throw new InvalidOptionError(
    option,
    `expected 'public' or 'authenticated', got ${JSON.stringify(value)}`,
  );
}

function checkRules(rules: readonly AuthRule[]): Map<string, AuthRule> {
  if (!Array.isArray(rules)) throw new InvalidOptionError('rules', 'expected an array');
  const out = new Map<string, AuthRule>();
  rules.forEach((rule: AuthRule, i) => {
    if (
      typeof rule?.endpoint !== 'string' ||
      !/^(\*|[^.*\s]+\.(\*|[^.*\s]+))$/.test(rule.endpoint)
    ) {
      throw new InvalidOptionError(
        `rules[${i}].endpoint`,
        'expected "Handler.Method", "Handler.*" or "*"',
      );
    }
    checkAccess(`rules[${i}].access`, rule.access);
    if (
      rule.scopes !== undefined &&
      (!Array.isArray(rule.scopes) || rule.scopes.some((s) => typeof s !== 'string' || s === ''))
    ) {
      throw new InvalidOptionError(`rules[${i}].scopes`, 'expected an array of scope names');
    }
    if (out.has(rule.endpoint))
      throw new InvalidOptionError(`rules[${i}].endpoint`, `${rule.endpoint} has two rules`);
    out.set(rule.endpoint, rule);
  });
  return out;
}
