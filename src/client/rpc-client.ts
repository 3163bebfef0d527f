import { randomUUID } from 'node:crypto';
import type { Broker } from '../broker/broker.js';
import type { Codec } from '../codec/codec.js';
import { findCodec, mucpContentType } from '../codec/codec.js';
import { composeWrappers } from '../compose.js';
import {
  currentContext,
  deriveContext,
  remaining,
  type Context,
  type DerivedContext,
} from '../context.js';
import { DEFAULTS } from '../defaults.js';
import { CLIENT_ERROR_ID, InvalidOptionError, MicroError } from '../errors.js';
import { EMPTY_METADATA, mergeMetadata, normalizeMetadata, type Metadata } from '../metadata.js';
import { checkComponent, checkFunction, checkInteger, checkNumber, isList } from '../options.js';
import type { Node } from '../registry/registry.js';
import type { Next, Selector } from '../selector/selector.js';
import { protocolOf, type RequestHead, type Transport } from '../transport/transport.js';
import { backoffMs } from './backoff.js';
import { resolveCallOptions, type CallDefaults } from './call-options.js';
import type {
  CallOptions,
  CallWrapper,
  Client,
  ClientStream,
  PublishOptions,
  Request,
  ResolvedCallOptions,
} from './client.js';
import {
  attemptContext,
  attemptTimeoutError,
  budgetError,
  raceDeadline,
  raceSignal,
  sleepWithin,
  spent,
  TIMER_SLACK_MS,
  tooLateToRetry,
} from './budget.js';
import { tailTolerantCall, type TailDeps } from './hedged-call.js';
import { LatencyWindows } from './latency-window.js';
import { isRetryable, RetryBudget, type RetryBudgetOptions } from './retry.js';
import { markHop } from '../internal/hop.js';
import {
  checkAdaptiveTimeout,
  checkHedge,
  type AdaptiveTimeoutOptions,
  type HedgeEvent,
  type HedgeOptions,
  type LatencyWindowOptions,
} from './tail-options.js';
import { codecStream } from './stream.js';

/** Options for {@link createClient}. */
export interface ClientOptions {
  /** Resolves service names to nodes. */
  selector: Selector;
  /** Carries requests to nodes. */
  transport: Transport;
  /** Carries published events. */
  broker: Broker;
  /** Codecs available to calls; the first is the default unless `contentType` says otherwise. */
  codecs: readonly Codec[];
  /** Default codec, by content type or name. @defaultValue the first codec */
  contentType?: string;
  /** Default budget per call, ms. @defaultValue 5000 */
  timeoutMs?: number;
  /** Default extra attempts per call. @defaultValue 2 */
  retries?: number;
  /**
   * Default limit of each attempt, ms; 0 for none (see {@link CallOptions.attemptTimeoutMs}).
   * @defaultValue 0
   */
  attemptTimeoutMs?: number;
  /**
   * Caps retries across all calls of this client so they never multiply the load on a sick
   * system; `false` turns the cap off. @defaultValue `{ ratio: 0.2, minPerSec: 10, windowMs: 10000
   * }`
   */
  retryBudget?: RetryBudgetOptions | false;
  /**
   * Default hedging of idempotent calls (see {@link CallOptions.hedge}); calls that are not
   * idempotent are never hedged. @defaultValue none
   */
  hedge?: HedgeOptions;
  /**
   * Caps hedges across all calls of this client, as `retryBudget` caps retries: over the window,
   * hedges ≤ `ratio` × hedge-enabled calls + `minPerSec` × the window's seconds; past it calls
   * wait for their first attempt alone. `false` turns the cap off. @defaultValue `{ ratio: 0.05,
   * minPerSec: 1, windowMs: 10000 }`
   */
  hedgeBudget?: RetryBudgetOptions | false;
  /**
   * Default adaptive attempt limit of every call (see {@link CallOptions.adaptiveAttemptTimeout}).
   * @defaultValue none
   */
  adaptiveAttemptTimeout?: AdaptiveTimeoutOptions;
  /** The rolling latency windows percentile delays and adaptive limits are read from. */
  latencyWindow?: LatencyWindowOptions;
  /**
   * Called when a hedge is sent and when one wins its call, e.g. `prometheusMetrics().hedge` to
   * count them. A hook that throws is ignored: reporting must not break calls.
   */
  onHedge?: (event: HedgeEvent) => void;
  /** Wrappers around each attempt; the first is outermost. */
  wrapCall?: readonly CallWrapper[];
}

/**
 * Builds the client. `call()` reads top to bottom: options → budget → select → wrappers →
 * attempt → mark → retry on a node not yet tried.
 */
export function createClient(opts: ClientOptions): Client {
  const selector = required(
    'client.selector',
    checkComponent('client.selector', opts.selector, ['select', 'mark']),
  );
  const transport = required(
    'client.transport',
    checkComponent('client.transport', opts.transport, ['dial']),
  );
  const broker = required(
    'client.broker',
    checkComponent('client.broker', opts.broker, ['publish']),
  );
  const codecs = opts.codecs;
  if (!isList(codecs) || codecs.length === 0)
    throw new InvalidOptionError('client.codecs', 'expected at least one codec');
  const defaultCodec =
    opts.contentType === undefined ? codecs[0] : findCodec(codecs, opts.contentType);
  if (!defaultCodec)
    throw new InvalidOptionError(
      'contentType',
      `no codec for ${JSON.stringify(opts.contentType)} (have ${codecs.map((c) => c.name).join(', ')})`,
    );
  const defaults: CallDefaults = {
    timeoutMs: checkNumber('timeoutMs', opts.timeoutMs, 0) ?? DEFAULTS.requestTimeoutMs,
    retries: checkInteger('retries', opts.retries, 0) ?? DEFAULTS.retries,
    attemptTimeoutMs: checkNumber('attemptTimeoutMs', opts.attemptTimeoutMs, 0) ?? 0,
    contentType: defaultCodec.contentType,
  };
  const hedge = checkHedge('hedge', opts.hedge);
  if (hedge) defaults.hedge = hedge;
  const adaptive = checkAdaptiveTimeout('adaptiveAttemptTimeout', opts.adaptiveAttemptTimeout);
  if (adaptive) defaults.adaptiveAttemptTimeout = adaptive;
  const retryBudget = resolveRetryBudget(opts.retryBudget);
  const windows = resolveWindows(opts.latencyWindow);
  const onHedge = checkFunction('onHedge', opts.onHedge);
  const tailDeps: TailDeps = {
    retryBudget,
    hedgeBudget: resolveRetryBudget(opts.hedgeBudget, 'hedgeBudget', HEDGE_BUDGET_DEFAULTS),
    onHedge:
      onHedge &&
      ((event) => {
        try {
          onHedge(event);
        } catch {
          // reporting must not break the call
        }
      }),
  };
  const codecOf = (contentType: string): Codec => findCodec(codecs, contentType)!;
  // Most calls pass no options: resolve the defaults once.
  const defaultResolved = resolveCallOptions(defaults, codecs, undefined);
  const hasWrappers = (opts.wrapCall?.length ?? 0) > 0;
  /**
   * What call wrappers wrap: one attempt in the context a wrapper hands on (so its signal is
   * always passed), with the codec the options it hands on name.
   */
  const wrapped = composeWrappers(opts.wrapCall, async (ctx, node, req, o) => {
    const codec = codecOf(o.contentType);
    return decode(codec, await send(codec, ctx, node, req, ctx.signal), req);
  });

  /**
   * One call, in go-micro's order (client/rpc_client.go Call): options → deadline budget →
   * select → (wrappers → attempt → mark) on a node, retried on a node not yet tried.
   */
  async function call<Res, Req>(
    service: string,
    endpoint: string,
    request: Req,
    callOpts?: CallOptions,
  ): Promise<Res> {
    // 1. Options: the client's defaults with this call's over them.
    const { options, codec } =
      callOpts === undefined ? defaultResolved : resolveCallOptions(defaults, codecs, callOpts);
    // 2. Deadline budget: this call's own, bounded by the inbound deadline inside a handler.
    const call = callContext(options.timeoutMs, callOpts);
    try {
      // 3. Select: a warm selector cache answers at once; only a lookup is awaited (and raced
      // with the budget).
      const next = pickCached(service, options, call) ?? (await pick(service, options, call));
      const req: Request = {
        service,
        endpoint,
        body: request,
        contentType: options.contentType,
        stream: false,
      };
      // Hedged calls and adaptive limits take a loop of their own (hedged-call.ts): this one,
      // the common case, stays as it is.
      if (options.hedge !== undefined || options.adaptiveAttemptTimeout !== undefined)
        return (await tailCall(service, endpoint, req, options, call, next)) as Res;
      // With no wrappers and no attempt limit an attempt is the transport call itself, made
      // right here in the call's own context: no attempt context, no promise between the reply
      // and this loop (the common case, and the fast path).
      const guarded = hasWrappers || options.attemptTimeoutMs > 0;
      // Made on the first failure: most calls succeed on their first node.
      let tried: Set<string> | undefined;
      retryBudget?.recordCall();
      let backoff = 0;
      // The error being retried, and how long its attempt took (see tooLateToRetry).
      let lastErr: MicroError | undefined;
      let lastTookMs = 0;
      for (let i = 0; ; i++) {
        if (backoff > 0) {
          await sleepWithin(backoff, call.ctx);
          if (tooLateToRetry(call, lastTookMs)) throw lastErr!;
        }
        if (spent(call)) throw budgetError(call.ctx, service, endpoint);
        const node = tried ? next({ exclude: tried }) : next();
        const started = performance.now();
        let err: MicroError;
        try {
          // 4. Wrappers → attempt: encode, send over the transport, decode.
          const rsp = guarded
            ? await guardedAttempt(node, req, options, call)
            : decode(
                codec,
                // The signal only when something besides the deadline can abort the call: the
                // transport enforces the deadline itself.
                await send(codec, call, node, req, call.cancellable ? call.ctx.signal : undefined),
                req,
              );
          // 5. Mark: the selector learns how the node did.
          markNode(service, node, options, undefined, performance.now() - started);
          return rsp as Res;
        } catch (thrown) {
          err = guarded
            ? MicroError.from(thrown, CLIENT_ERROR_ID) // a MicroError already (see guardedAttempt)
            : attemptError(thrown, call, call, node, req, options.attemptTimeoutMs);
        }
        const tookMs = performance.now() - started;
        markNode(service, node, options, err, tookMs);
        (tried ??= new Set()).add(node.id);
        // A refused or reset connection is dead: the next call to this node dials afresh.
        if (err.fault && err.fault.reason !== 'timeout') transport.evict(node.address);
        // 6. Retry, while attempts, budget and retry budget last, and only what may be retried.
        if (i >= options.retries || spent(call) || !isRetryable(err, options.idempotent)) throw err;
        // go-micro sleeps first and lets the deadline cut it. A backoff that leaves the next
        // attempt less time than this one took (plus the lateness of a timer) would only turn
        // this error into a 408, so the call ends here with it instead.
        backoff = backoffMs(i + 1);
        if (backoff + tookMs + TIMER_SLACK_MS >= remaining(call)) throw err;
        if (retryBudget && !retryBudget.tryRetry()) throw err;
        lastErr = err;
        lastTookMs = tookMs;
      }
    } catch (err) {
      // Free on success: an error is marked with the hop, so a handler that lets it out names it.
      throw markHop(err, service, endpoint);
    } finally {
      call.dispose();
    }
  }

  /** A call through {@link tailTolerantCall}, with its attempts made and marked here. */
  function tailCall(
    service: string,
    endpoint: string,
    req: Request,
    options: ResolvedCallOptions,
    call: DerivedContext,
    next: Next,
  ): Promise<unknown> {
    return tailTolerantCall(
      {
        service,
        endpoint,
        options,
        call,
        next,
        window: windows.get(service, endpoint),
        attempt: (node, limitMs, cancel) =>
          cancellableAttempt(node, req, options, call, limitMs, cancel),
        mark: (node, err, latencyMs) => {
          markNode(service, node, options, err, latencyMs);
          if (err?.fault && err.fault.reason !== 'timeout') transport.evict(node.address);
        },
      },
      tailDeps,
    );
  }

  /**
   * One attempt of a tail-tolerant call: its own context, cut at `limitMs` (0: the call's
   * budget) and by `cancel`. Always rejects with a MicroError; a neutral 408 once cancelled.
   */
  async function cancellableAttempt(
    node: Node,
    req: Request,
    options: ResolvedCallOptions,
    call: DerivedContext,
    limitMs: number,
    cancel: AbortSignal,
  ): Promise<unknown> {
    const a = deriveContext(call.ctx, limitMs > 0 ? limitMs : Infinity, call.ctx.metadata, cancel);
    try {
      if (hasWrappers) return await raceSignal(wrapped(a.ctx, node, req, options), a.ctx.signal);
      const codec = codecOf(options.contentType);
      return decode(codec, await send(codec, a, node, req, a.ctx.signal), req);
    } catch (thrown) {
      if (cancel.aborted && MicroError.is(cancel.reason)) throw cancel.reason;
      throw attemptError(thrown, call, a, node, req, limitMs);
    } finally {
      a.dispose();
    }
  }

  /**
   * An attempt with something around it: its own limit (a child context cut at
   * `attemptTimeoutMs`), the wrappers, or both. Always rejects with a MicroError.
   */
  async function guardedAttempt(
    node: Node,
    req: Request,
    options: ResolvedCallOptions,
    call: DerivedContext,
  ): Promise<unknown> {
    const a = attemptContext(call, options.attemptTimeoutMs);
    try {
      // Transports honour the signal themselves; the race is only for wrappers that may not
      // (it costs a promise, two closures and a listener per call).
      if (hasWrappers) return await raceSignal(wrapped(a.ctx, node, req, options), a.ctx.signal);
      const codec = codecOf(options.contentType);
      return decode(
        codec,
        await send(codec, a, node, req, a.cancellable ? a.ctx.signal : undefined),
        req,
      );
    } catch (thrown) {
      throw attemptError(thrown, call, a, node, req, options.attemptTimeoutMs);
    } finally {
      if (a !== call) a.dispose();
    }
  }

  /**
   * Encodes the request and hands it to the transport. Throws (synchronously) a 400 when the
   * request cannot be encoded.
   */
  function send(
    codec: Codec,
    ctx: Pick<Context, 'metadata' | 'deadline'>,
    node: Node,
    req: Request,
    signal: AbortSignal | undefined,
  ): Promise<Uint8Array> {
    let body: Uint8Array;
    try {
      body = codec.encode(req.body, { endpoint: req.endpoint, kind: 'request' });
    } catch (err) {
      throw MicroError.badRequest(
        CLIENT_ERROR_ID,
        `cannot encode request for ${req.endpoint}: ${(err as Error).message}`,
      );
    }
    const head: RequestHead = {
      service: req.service,
      endpoint: req.endpoint,
      contentType: codec.contentType,
      metadata: ctx.metadata,
      deadline: ctx.deadline,
    };
    return transport.dial(node.address, node.metadata).call(head, body, signal);
  }

  /** The reply's body decoded; a 502 when the peer sent what the codec cannot read. */
  function decode(codec: Codec, bytes: Uint8Array, req: Request): unknown {
    try {
      return codec.decode(bytes, { endpoint: req.endpoint, kind: 'response' });
    } catch (err) {
      throw MicroError.badGateway(
        CLIENT_ERROR_ID,
        `malformed response from ${req.service} ${req.endpoint}: ${(err as Error).message}`,
      );
    }
  }

  /**
   * The MicroError an attempt in `a` (within `call`) failed with: a 408 once a budget ran out —
   * the call's, or the attempt's own (a transport fault: the node did not answer in time).
   */
  function attemptError(
    thrown: unknown,
    call: DerivedContext,
    a: DerivedContext,
    node: Node,
    req: Request,
    limitMs: number,
  ): MicroError {
    if (spent(call)) return budgetError(call.ctx, req.service, req.endpoint, thrown);
    if (a !== call && spent(a) && !(MicroError.is(thrown) && thrown.fault))
      return attemptTimeoutError(node.address, limitMs, thrown);
    return MicroError.from(thrown, CLIENT_ERROR_ID);
  }

  /** Tells the selector how the attempt went; calls to given addresses bypassed it. */
  function markNode(
    service: string,
    node: Node,
    options: ResolvedCallOptions,
    err: MicroError | undefined,
    latencyMs: number,
  ): void {
    if (!options.address) selector.mark(service, node, err, latencyMs);
  }

  async function stream<Send, Recv>(
    service: string,
    endpoint: string,
    callOpts?: CallOptions,
  ): Promise<ClientStream<Send, Recv>> {
    const { options } = resolveCallOptions(defaults, codecs, callOpts);
    // A stream lives as long as its user wants unless a timeout is given (go-micro sends no
    // stream timeout by default); inside a handler the inbound deadline still bounds it.
    const derived = callContext(callOpts?.timeoutMs ?? Infinity, callOpts);
    const ctx = derived.ctx;
    const dispose = (): void => derived.dispose();
    try {
      const next = await pick(service, options, derived);
      const node = next();
      // The stream is in flight on its node until it ends; its errors are not attributed to the
      // node (a stream fails for many reasons of its own), and its length is not a latency.
      let marked = false;
      const end = (): void => {
        dispose();
        if (!marked) {
          marked = true;
          markNode(service, node, options, undefined, NaN);
        }
      };
      const head: RequestHead = {
        service,
        endpoint,
        contentType: options.contentType,
        metadata: ctx.metadata,
        deadline: ctx.deadline,
      };
      try {
        const frames = transport.dial(node.address, node.metadata).stream(head, ctx.signal);
        return codecStream<Send, Recv>(
          frames,
          codecOf(options.contentType),
          service,
          endpoint,
          end,
        );
      } catch (err) {
        end();
        throw err;
      }
    } catch (err) {
      dispose();
      throw markHop(MicroError.from(err, CLIENT_ERROR_ID), service, endpoint);
    }
  }

  const eventsSpeakMucp = protocolOf(transport) === 'mucp';

  async function publish(
    topic: string,
    message: unknown,
    pubOpts: PublishOptions = {},
  ): Promise<void> {
    const codec =
      pubOpts.contentType === undefined ? defaultCodec! : findCodec(codecs, pubOpts.contentType);
    if (!codec)
      throw new InvalidOptionError(
        'publish.contentType',
        `no codec for ${JSON.stringify(pubOpts.contentType)}`,
      );
    const parent = pubOpts.ctx ?? currentContext();
    const metadata = mergeMetadata(
      parent?.metadata ?? EMPTY_METADATA,
      normalizeMetadata(pubOpts.metadata),
    );
    let body: Uint8Array;
    try {
      body = codec.encode(message, { endpoint: topic, kind: 'event' });
    } catch (err) {
      throw MicroError.badRequest(
        CLIENT_ERROR_ID,
        `cannot encode event for ${topic}: ${(err as Error).message}`,
      );
    }
    // go-micro's headers, so Go subscribers route and decode our events. A go-micro rpc server
    // reads `application/grpc+json` as gRPC-framed and fails to decode such an event: on its
    // stack events are named as its own client names them (`application/json`).
    const header = {
      ...metadata,
      'Content-Type': eventsSpeakMucp ? mucpContentType(codec.contentType) : codec.contentType,
      'Micro-Topic': topic,
      'Micro-ID': randomUUID(),
    };
    try {
      await broker.publish(topic, { header, body });
    } catch (err) {
      throw MicroError.is(err)
        ? err
        : new MicroError(
            CLIENT_ERROR_ID,
            503,
            `publish to ${topic} failed: ${(err as Error).message}`,
            undefined,
            { cause: err },
          );
    }
  }

  /** The call's context: its own budget, bounded by the inbound deadline when inside a handler. */
  function callContext(timeout: number, callOpts: CallOptions | undefined): DerivedContext {
    const parent = callOpts?.ctx ?? currentContext();
    const metadata: Metadata = mergeMetadata(
      parent?.metadata ?? EMPTY_METADATA,
      normalizeMetadata(callOpts?.metadata),
    );
    return deriveContext(parent, timeout, metadata, callOpts?.signal);
  }

  /** The picker when the selector can answer from memory, undefined when it must look up. */
  function pickCached(
    service: string,
    options: ResolvedCallOptions,
    call: DerivedContext,
  ): Next | undefined {
    if (options.address || !selector.selectCached || call.aborted) return undefined;
    try {
      return selector.selectCached(service, options);
    } catch (err) {
      throw MicroError.from(err, CLIENT_ERROR_ID);
    }
  }

  async function pick(
    service: string,
    options: ResolvedCallOptions,
    call: DerivedContext,
  ): Promise<Next> {
    if (call.aborted) throw budgetError(call.ctx, service, '');
    if (options.address) return staticNext(service, options.address);
    const selecting = selector.select(service, { filters: options.filters });
    // Only the deadline can end an uncancellable call: a timer races it, not a signal.
    return (
      call.cancellable
        ? raceSignal(selecting, call.ctx.signal)
        : raceDeadline(selecting, call.deadline)
    ).catch((err: unknown) => {
      throw call.aborted
        ? budgetError(call.ctx, service, '', err)
        : MicroError.from(err, CLIENT_ERROR_ID);
    });
  }

  return {
    call,
    stream,
    publish,
  };
}

/** Nodes for addresses given with the call (discovery bypassed), tried in order. */
function staticNext(service: string, addresses: readonly string[]): Next {
  const nodes: Node[] = addresses.map((address) => ({
    id: `${service}@${address}`,
    address,
    metadata: {},
  }));
  return (pickOpts) => nodes.find((n) => !pickOpts?.exclude?.has(n.id)) ?? nodes[0];
}

function required<T>(name: string, value: T | undefined): T {
  if (value === undefined) throw new InvalidOptionError(name, 'is required');
  return value;
}

const RETRY_BUDGET_DEFAULTS = {
  ratio: DEFAULTS.retryBudgetRatio,
  minPerSec: DEFAULTS.retryBudgetMinPerSec,
  windowMs: DEFAULTS.retryBudgetWindowMs,
};

const HEDGE_BUDGET_DEFAULTS = {
  ratio: DEFAULTS.hedgeBudgetRatio,
  minPerSec: DEFAULTS.hedgeBudgetMinPerSec,
  windowMs: DEFAULTS.retryBudgetWindowMs,
};

function resolveRetryBudget(
  o: RetryBudgetOptions | false | undefined,
  name = 'retryBudget',
  defaults: Required<RetryBudgetOptions> = RETRY_BUDGET_DEFAULTS,
): RetryBudget | undefined {
  if (o === false) return undefined;
  if (o !== undefined && (typeof o !== 'object' || o === null))
    throw new InvalidOptionError(name, 'expected an object or false');
  return new RetryBudget(
    checkNumber(`${name}.ratio`, o?.ratio, 0) ?? defaults.ratio,
    checkNumber(`${name}.minPerSec`, o?.minPerSec, 0) ?? defaults.minPerSec,
    checkNumber(`${name}.windowMs`, o?.windowMs, 1) ?? defaults.windowMs,
  );
}

function resolveWindows(o: LatencyWindowOptions | undefined): LatencyWindows {
  if (o !== undefined && (typeof o !== 'object' || o === null))
    throw new InvalidOptionError('latencyWindow', 'expected { size?, minSamples? }');
  return new LatencyWindows(
    checkInteger('latencyWindow.size', o?.size, 1) ?? DEFAULTS.latencyWindowSize,
    checkInteger('latencyWindow.minSamples', o?.minSamples, 1) ?? DEFAULTS.latencyWindowMinSamples,
    DEFAULTS.latencyWindowMaxKeys,
  );
}
