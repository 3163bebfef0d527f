import { InvalidOptionError } from './errors.js';

/**
 * Validation helpers for options; a bad option is an {@link InvalidOptionError} naming it.
 * Constructor options are checked once, at construction, and throw there, synchronously: a bad
 * one never surfaces on a call. Per-call options (`CallOptions`, `PublishOptions`) can only be
 * checked when the call is made: a bad one rejects that call's promise before anything is sent.
 */

/** A finite number ≥ `min` (default 0), or undefined. */
export function checkNumber(name: string, value: unknown, min = 0): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new InvalidOptionError(name, `expected a finite number, got ${describe(value)}`);
  if (value < min) throw new InvalidOptionError(name, `must be ≥ ${min}, got ${value}`);
  return value;
}

/** A whole number ≥ `min` (default 0), or undefined. */
export function checkInteger(name: string, value: unknown, min = 0): number | undefined {
  const n = checkNumber(name, value, min);
  if (n !== undefined && !Number.isInteger(n))
    throw new InvalidOptionError(name, `expected a whole number, got ${n}`);
  return n;
}

/** A non-empty string, or undefined. */
export function checkString(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '')
    throw new InvalidOptionError(name, `expected a non-empty string, got ${describe(value)}`);
  return value;
}

/**
 * What a name a registry holds may contain: go-micro's service names (`helloworld`,
 * `go.micro.srv.greeter`, `micro.http.broker`) use letters, digits, `.`, `-` and `_`, and every
 * registry holds these: Consul in URL paths and its catalog (its DNS interface would want letters,
 * digits and `-` only, and says dotted names are not discoverable there; go-micro uses them
 * anyway), etcd in keys where `/` separates service from node, the local registry in file names,
 * and gRPC in the `/<service>.<Handler>/<Method>` path. A space, `/`, `:` or any other character
 * breaks at least one of them, so such a name is refused before it is registered instead of
 * failing, or being found under another name, later.
 */
const REGISTRY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * A name a registry can hold (letters, digits, `.`, `-`, `_`, starting with a letter or digit),
 * or undefined.
 */
export function checkRegistryName(name: string, value: unknown): string | undefined {
  const s = checkString(name, value);
  if (s !== undefined && !REGISTRY_NAME.test(s))
    throw new InvalidOptionError(
      name,
      `expected letters, digits, ".", "-" or "_" (starting with a letter or digit), as go-micro names like "go.micro.srv.greeter"; got ${JSON.stringify(s)}`,
    );
  return s;
}

/**
 * Whether `value` is an array, narrowing to `readonly unknown[]` (Array.isArray narrows a
 * readonly array to `any[]`, which then spreads `any` through whatever uses it).
 */
export function isList(value: unknown): value is readonly unknown[] {
  return Array.isArray(value);
}

/** A boolean, or undefined. */
export function checkBoolean(name: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new InvalidOptionError(name, 'expected a boolean');
  return value;
}

/** A function, or undefined. */
export function checkFunction<T>(name: string, value: T | undefined): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function')
    throw new InvalidOptionError(name, `expected a function, got ${describe(value)}`);
  return value;
}

/** An object exposing the named methods (a plug-in instance), or undefined. */
export function checkComponent<T>(
  name: string,
  value: T | undefined,
  methods: readonly string[],
): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null)
    throw new InvalidOptionError(name, `expected an instance, got ${describe(value)}`);
  for (const m of methods) {
    if (typeof (value as Record<string, unknown>)[m] !== 'function')
      throw new InvalidOptionError(
        name,
        `expected an instance with ${m}(), got ${describe(value)}`,
      );
  }
  return value;
}

/** A string record (metadata), or undefined. */
export function checkStringRecord(
  name: string,
  value: unknown,
): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidOptionError(name, `expected an object of strings, got ${describe(value)}`);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string')
      throw new InvalidOptionError(`${name}.${k}`, `expected a string, got ${describe(v)}`);
  }
  return value as Record<string, string>;
}

/** One of `allowed`, or undefined. */
export function checkOneOf<T extends string>(
  name: string,
  value: unknown,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidOptionError(
      name,
      `expected one of ${allowed.join(', ')}, got ${describe(value)}`,
    );
  }
  return value as T;
}

/**
 * A `host:port` address (IPv6 hosts bracketed, port 0–65535), returned as given.
 * Port 0 means "any free port" when listening.
 */
export function checkAddress(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw new InvalidOptionError(name, `expected "host:port", got ${describe(value)}`);
  if (parseAddress(value) === undefined)
    throw new InvalidOptionError(name, `expected "host:port", got ${JSON.stringify(value)}`);
  return value;
}

/** Splits `host:port` / `[v6]:port`; undefined when malformed. */
export function parseAddress(address: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(address);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? m[2], port };
}

/** Joins host and port, bracketing IPv6 hosts. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function describe(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'object':
      return value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object';
    case 'function':
      return 'a function';
    case 'symbol':
      return value.toString();
    case 'number':
    case 'bigint':
    case 'boolean':
      return `${typeof value} ${String(value)}`;
    default:
      return 'undefined';
  }
}
