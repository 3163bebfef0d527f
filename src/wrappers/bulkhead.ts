import type { CallOptions, ClientWrapper } from '../client/client.js';
import { clampTimeout, currentContext, remaining } from '../context.js';
import { DEFAULTS, WRAPPER_DEFAULTS } from '../defaults.js';
import { MicroError } from '../errors.js';
import { checkInteger, checkOneOf } from '../options.js';
import type { HandlerWrapper } from '../server/server.js';
import { endpointKey } from './shared.js';

/** The id of the errors a full bulkhead answers with (code 503). */
export const BULKHEAD_ERROR_ID = 'tsmicro.bulkhead';

/** Options for {@link bulkhead}. */
export interface BulkheadOptions {
  /** Calls (or handlers) running at once per compartment. @defaultValue 10 */
  maxConcurrent?: number;
  /**
   * Callers that may wait for a slot per compartment; one more is refused with 503 at once.
   * @defaultValue 10
   */
  maxQueue?: number;
  /**
   * What one compartment holds: every call (`all`), the calls to one service (`service`: a slow
   * downstream cannot take the slots of the others), or one endpoint (`endpoint`). On the server
   * `service` and `all` are the same. @defaultValue `service`
   */
  scope?: 'all' | 'service' | 'endpoint';
}

/** Client and server bulkheads built from one set of options. */
export interface Bulkheads {
  /** Bounds the calls this client has in flight. Streams and publishes pass untouched. */
  readonly client: ClientWrapper;
  /** Bounds the handlers this server runs at once. */
  readonly handler: HandlerWrapper;
}

/**
 * A bulkhead: at most `maxConcurrent` calls run per compartment, `maxQueue` more wait in order,
 * and anything beyond is refused with MicroError 503 `tsmicro.bulkhead`. A waiter whose deadline
 * passes leaves the queue with 408.
 */
export function bulkhead(opts: BulkheadOptions = {}): Bulkheads {
  const maxConcurrent =
    checkInteger('maxConcurrent', opts.maxConcurrent, 1) ?? WRAPPER_DEFAULTS.bulkheadMaxConcurrent;
  const maxQueue = checkInteger('maxQueue', opts.maxQueue, 0) ?? WRAPPER_DEFAULTS.bulkheadMaxQueue;
  const scope =
    checkOneOf('scope', opts.scope, ['all', 'service', 'endpoint'] as const) ?? 'service';
  const clientSlots = new Map<string, Compartment>();
  const serverSlots = new Map<string, Compartment>();

  const compartment = (map: Map<string, Compartment>, key: string): Compartment => {
    let c = map.get(key);
    if (!c) {
      c = new Compartment(maxConcurrent, maxQueue);
      map.set(key, c);
    }
    return c;
  };
  const keyOf = (service: string, endpoint: string): string =>
    scope === 'all' ? '' : scope === 'service' ? service : endpointKey(service, endpoint);

  return {
    client: (next) => ({
      async call<Res, Req>(
        service: string,
        endpoint: string,
        request: Req,
        callOpts?: CallOptions,
      ): Promise<Res> {
        const parent = callOpts?.ctx ?? currentContext();
        const maxWait = Math.min(
          callOpts?.timeoutMs ?? DEFAULTS.requestTimeoutMs,
          parent ? remaining(parent) : Infinity,
        );
        const slots = compartment(clientSlots, keyOf(service, endpoint));
        await slots.acquire(maxWait, callOpts?.signal, `${service} ${endpoint}`);
        try {
          return await next.call<Res, Req>(service, endpoint, request, callOpts);
        } finally {
          slots.release();
        }
      },
      stream: (service, endpoint, o) => next.stream(service, endpoint, o),
      publish: (topic, message, o) => next.publish(topic, message, o),
    }),
    handler: (next) => async (req, ctx) => {
      const slots = compartment(serverSlots, scope === 'endpoint' ? ctx.endpoint : '');
      await slots.acquire(remaining(ctx), ctx.signal, ctx.endpoint);
      try {
        return await next(req, ctx);
      } finally {
        slots.release();
      }
    },
  };
}

/** Slots and a bounded FIFO of waiters. */
class Compartment {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly max: number,
    private readonly maxQueue: number,
  ) {}

  async acquire(maxWaitMs: number, signal: AbortSignal | undefined, what: string): Promise<void> {
    if (this.running < this.max) {
      this.running++;
      return;
    }
    if (this.waiting.length >= this.maxQueue || maxWaitMs <= 0) {
      throw MicroError.unavailable(
        BULKHEAD_ERROR_ID,
        `bulkhead full for ${what}: ${this.running} running, ${this.waiting.length} waiting`,
      );
    }
    await new Promise<void>((resolve, reject) => {
      const give = (): void => {
        cleanup();
        resolve();
      };
      const leave = (): void => {
        const i = this.waiting.indexOf(give);
        if (i >= 0) this.waiting.splice(i, 1);
        cleanup();
        reject(
          MicroError.timeout(BULKHEAD_ERROR_ID, `gave up waiting for a bulkhead slot for ${what}`),
        );
      };
      const timer = setTimeout(leave, clampTimeout(maxWaitMs));
      const cleanup = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', leave);
      };
      signal?.addEventListener('abort', leave, { once: true });
      this.waiting.push(give);
    });
  }

  /** Hands the slot to the first waiter, or frees it. */
  release(): void {
    const nextWaiter = this.waiting.shift();
    if (nextWaiter) nextWaiter();
    else this.running--;
  }
}
