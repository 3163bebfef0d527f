import { STATUS_CODES } from 'node:http';

/** The four fields go-micro puts on the wire for every error (errors/errors.proto). */
export interface MicroErrorJSON {
  id: string;
  code: number;
  detail: string;
  status: string;
}

/**
 * How a transport-level failure happened. Set only by transports, on errors they produced
 * themselves; never serialised. Retry and node health decide from this, never from error text.
 */
export interface TransportFault {
  /**
   * True when the request certainly never reached a handler (connection refused, the stream
   * could not be opened): such a call is always safe to retry elsewhere.
   */
  readonly beforeHandler: boolean;
  /** What went wrong, for logs and metrics. */
  readonly reason: 'refused' | 'reset' | 'unavailable' | 'timeout' | 'protocol';
}

/** Options for {@link MicroError} beyond the wire fields. */
export interface MicroErrorOptions extends ErrorOptions {
  /** Marks the error as a fault the transport observed itself (see {@link TransportFault}). */
  fault?: TransportFault;
}

/** Ids the library uses for errors it makes itself, as Go peers do. */
export const CLIENT_ERROR_ID = 'go.micro.client';
export const SERVER_ERROR_ID = 'go.micro.server';

const BRAND = Symbol.for('tsmicro.error');

/**
 * The one error type that reaches user code: go-micro's `{id, code, detail, status}`.
 *
 * `code` is HTTP-like (400, 404, 408, 500, 503, ...); `id` names who failed: the service for
 * handler errors, `go.micro.client` / `go.micro.server` for errors the library makes.
 * Use {@link MicroError.is} rather than `instanceof` when two copies of tsmicro may meet.
 */
export class MicroError extends Error {
  readonly id: string;
  readonly code: number;
  readonly detail: string;
  readonly status: string;
  /** Set only on faults a transport observed itself; local, never sent. */
  readonly fault?: TransportFault;

  constructor(
    id: string,
    code: number,
    detail: string,
    status?: string,
    options?: MicroErrorOptions,
  ) {
    super(detail, options);
    this.name = 'MicroError';
    this.id = id;
    this.code = code;
    this.detail = detail;
    this.status = status ?? statusText(code);
    if (options?.fault) this.fault = options.fault;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** True when `err` is a MicroError (from any copy of tsmicro), optionally with `code`. */
  static is(err: unknown, code?: number): err is MicroError {
    if (typeof err !== 'object' || err === null || (err as Record<symbol, unknown>)[BRAND] !== true)
      return false;
    return code === undefined || (err as MicroError).code === code;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return MicroError.is(value);
  }

  static badRequest(id: string, detail: string): MicroError {
    return new MicroError(id, 400, detail);
  }
  static unauthorized(id: string, detail: string): MicroError {
    return new MicroError(id, 401, detail);
  }
  static forbidden(id: string, detail: string): MicroError {
    return new MicroError(id, 403, detail);
  }
  static notFound(id: string, detail: string): MicroError {
    return new MicroError(id, 404, detail);
  }
  static timeout(id: string, detail: string): MicroError {
    return new MicroError(id, 408, detail);
  }
  static conflict(id: string, detail: string): MicroError {
    return new MicroError(id, 409, detail);
  }
  static payloadTooLarge(id: string, detail: string): MicroError {
    return new MicroError(id, 413, detail);
  }
  static tooManyRequests(id: string, detail: string): MicroError {
    return new MicroError(id, 429, detail);
  }
  static internal(id: string, detail: string): MicroError {
    return new MicroError(id, 500, detail);
  }
  static notImplemented(id: string, detail: string): MicroError {
    return new MicroError(id, 501, detail);
  }
  static badGateway(id: string, detail: string): MicroError {
    return new MicroError(id, 502, detail);
  }
  static unavailable(id: string, detail: string): MicroError {
    return new MicroError(id, 503, detail);
  }
  static gatewayTimeout(id: string, detail: string): MicroError {
    return new MicroError(id, 504, detail);
  }

  /**
   * Turns anything thrown into a MicroError: MicroErrors pass through, other errors become
   * 500 with their message under `id`.
   */
  static from(err: unknown, id: string): MicroError {
    if (MicroError.is(err)) return err;
    if (err instanceof Error)
      return new MicroError(id, 500, err.message, undefined, { cause: err });
    return new MicroError(id, 500, String(err));
  }

  /**
   * Parses go-micro's error JSON. Tolerant: text that is not such JSON (or has no positive code)
   * becomes a 500 carrying the raw text, as go-micro's `errors.Parse` does.
   */
  static fromJSON(
    wire: string | MicroErrorJSON | Record<string, unknown>,
    fallbackId = CLIENT_ERROR_ID,
  ): MicroError {
    let obj: unknown = wire;
    if (typeof wire === 'string') {
      try {
        obj = JSON.parse(wire);
      } catch {
        return new MicroError(fallbackId, 500, wire);
      }
    }
    // Not an object: wire was a primitive, or a string holding one (objects were taken above).
    if (typeof obj !== 'object' || obj === null) {
      const primitive = wire as string | number | boolean | null | undefined;
      return new MicroError(fallbackId, 500, String(primitive));
    }
    const o = obj as Record<string, unknown>;
    const code = typeof o.code === 'number' && Number.isInteger(o.code) && o.code > 0 ? o.code : 0;
    if (code === 0)
      return new MicroError(
        fallbackId,
        500,
        typeof wire === 'string' ? wire : JSON.stringify(wire),
      );
    return new MicroError(
      typeof o.id === 'string' ? o.id : fallbackId,
      code,
      typeof o.detail === 'string' ? o.detail : '',
      typeof o.status === 'string' && o.status !== '' ? o.status : undefined,
    );
  }

  /** go-micro's JSON form; empty fields omitted as Go's generated struct does. */
  toJSON(): Partial<MicroErrorJSON> {
    const out: Partial<MicroErrorJSON> = {};
    if (this.id) out.id = this.id;
    if (this.code) out.code = this.code;
    if (this.detail) out.detail = this.detail;
    if (this.status) out.status = this.status;
    return out;
  }

  override toString(): string {
    return JSON.stringify(this.toJSON());
  }
}

/** HTTP reason phrase for a code, as Go's `http.StatusText`. */
export function statusText(code: number): string {
  return STATUS_CODES[code] ?? '';
}

/**
 * A programmer error in options: thrown synchronously at construction, naming the option.
 * Never a MicroError and never raised at call time.
 */
export class InvalidOptionError extends TypeError {
  readonly option: string;
  constructor(option: string, problem: string) {
    super(`invalid option ${option}: ${problem}`);
    this.name = 'InvalidOptionError';
    this.option = option;
  }
}

/**
 * go-micro's HTTP-code → gRPC-status table (server/grpc/error.go), plus the codes go-micro has
 * no entry for but gRPC does (413/429 → RESOURCE_EXHAUSTED, 504 → DEADLINE_EXCEEDED). Anything
 * else is UNKNOWN. The go-micro JSON travels in the status message, so the exact code survives.
 */
const HTTP_TO_GRPC: ReadonlyMap<number, number> = new Map([
  [200, 0],
  [400, 3],
  [401, 16],
  [403, 7],
  [404, 5],
  [408, 4],
  [409, 6],
  [412, 9],
  [413, 8],
  [429, 8],
  [500, 13],
  [501, 12],
  [503, 14],
  [504, 4],
]);

/** The inverse used when a status carries no go-micro JSON (plain gRPC servers; v5 behaviour). */
const GRPC_TO_HTTP: ReadonlyMap<number, number> = new Map([
  [1, 408],
  [3, 400],
  [4, 408],
  [5, 404],
  [6, 409],
  [7, 403],
  [8, 429],
  [9, 412],
  [12, 501],
  [13, 500],
  [14, 503],
  [16, 401],
]);

/** gRPC status code for a go-micro (HTTP-like) code. */
export function grpcStatusFromCode(code: number): number {
  return HTTP_TO_GRPC.get(code) ?? 2;
}

/** go-micro (HTTP-like) code for a gRPC status code; unknown → 500. */
export function codeFromGrpcStatus(status: number): number {
  return GRPC_TO_HTTP.get(status) ?? 500;
}
