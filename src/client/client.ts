import type { Context } from '../context.js';
import type { Node } from '../registry/registry.js';
import type { Filter } from '../selector/selector.js';
import type {
  AdaptiveTimeoutOptions,
  HedgeOptions,
  ResolvedAdaptiveTimeout,
  ResolvedHedge,
} from './tail-options.js';

/**
 * The client: calls services by name. Every call gets a deadline budget, resolves the service
 * through the selector, runs through the call wrappers once per attempt, and is retried on another
 * node when that is safe.
 */

/**
 * Per-call options; each overrides the client's default for this call only. They are checked
 * when the call is made: a bad one rejects that call's promise with an InvalidOptionError naming
 * it (`call.timeoutMs`, ...) before anything is sent. (The client's own options throw at
 * construction.)
 */
export interface CallOptions {
  /**
   * Budget for the whole call including retries, in ms. Inside a handler the inbound deadline
   * still bounds it: the smaller wins. @defaultValue 5000
   */
  timeoutMs?: number;
  /** Extra attempts after the first, each on a node not yet tried. @defaultValue 2 */
  retries?: number;
  /**
   * Limit of each attempt, ms, within the call's budget; 0 for none. A node that does not answer
   * in time fails with a transport 'timeout' fault: it counts against the node, and an idempotent
   * call is retried on another node while budget remains. @defaultValue 0 (the budget alone)
   */
  attemptTimeoutMs?: number;
  /**
   * Derive each attempt's limit from the endpoint's observed latency instead (a multiple of a
   * high percentile, between a floor and a ceiling); it then replaces `attemptTimeoutMs`. `false`
   * turns off the client's default. @defaultValue the client's `adaptiveAttemptTimeout`
   */
  adaptiveAttemptTimeout?: AdaptiveTimeoutOptions | false;
  /**
   * Hedge the call: after a delay without an answer, send it to another node too; the first
   * success wins and the other attempts are cancelled. Only an idempotent call is hedged (the
   * option is ignored otherwise); `false` turns off the client's default. @defaultValue the
   * client's `hedge`
   */
  hedge?: HedgeOptions | false;
  /** Metadata sent with the call, merged over the inbound metadata when called inside a handler. */
  metadata?: Record<string, string>;
  /**
   * Explicit parent context; by default the current handler's context is used (AsyncLocalStorage).
   */
  ctx?: Context;
  /** Cancels the call. */
  signal?: AbortSignal;
  /** Codec for the request, by content type or name (`json`, `application/grpc+json`, ...). */
  contentType?: string;
  /** Call these `host:port` addresses instead of asking the selector (go-micro `WithAddress`). */
  address?: string | readonly string[];
  /**
   * The endpoint may run twice without harm, so timeouts and 500s may be retried too. Failures
   * before the request reached a handler are retried regardless. @defaultValue false
   */
  idempotent?: boolean;
  /** Selector filters for this call (version, metadata, endpoint). */
  filters?: readonly Filter[];
}

/** Options for {@link Client.publish}. */
export interface PublishOptions {
  /** Headers sent with the message, merged over the inbound metadata inside a handler. */
  metadata?: Record<string, string>;
  /** Codec for the message, by content type or name. */
  contentType?: string;
  /** Explicit parent context (see {@link CallOptions.ctx}). */
  ctx?: Context;
}

/** A call as wrappers see it. */
export interface Request {
  readonly service: string;
  readonly endpoint: string;
  /** The request value (not yet encoded). */
  readonly body: unknown;
  readonly contentType: string;
  /** True for {@link Client.stream}. */
  readonly stream: boolean;
}

/** Options as resolved for one call: client defaults with the call's own options applied. */
export interface ResolvedCallOptions {
  /** Budget of the whole call including retries, ms. */
  readonly timeoutMs: number;
  readonly retries: number;
  /** Limit of each attempt, ms; 0 for none. */
  readonly attemptTimeoutMs: number;
  /** The adaptive attempt limit, when the call has one (it replaces `attemptTimeoutMs`). */
  readonly adaptiveAttemptTimeout?: ResolvedAdaptiveTimeout;
  readonly idempotent: boolean;
  /** How the call is hedged; undefined when it is not (always so for a non-idempotent call). */
  readonly hedge?: ResolvedHedge;
  readonly contentType: string;
  readonly address?: readonly string[];
  readonly filters: readonly Filter[];
}

/** One attempt against one node; what call wrappers wrap. Resolves with the decoded response. */
export type CallFunc = (
  ctx: Context,
  node: Node,
  req: Request,
  opts: ResolvedCallOptions,
) => Promise<unknown>;

/** Wraps each attempt (after node selection). The first in a list is outermost. */
export type CallWrapper = (next: CallFunc) => CallFunc;

/** Wraps the whole client (once per call, outside retries). The first in a list is outermost. */
export type ClientWrapper = (next: Client) => Client;

/**
 * The client end of a bidirectional stream. Iterate it to receive; the loop ends when the server
 * finishes and throws a MicroError if the stream fails.
 */
export interface ClientStream<Send = unknown, Recv = unknown> extends AsyncIterable<Recv> {
  /** Sends one message; resolves when the transport can take more. */
  send(message: Send): Promise<void>;
  /** No more messages from this side; the server sees the end of its input. */
  closeSend(): void;
  /** Receives the next message, or undefined at the end of the stream. */
  recv(): Promise<Recv | undefined>;
  /** Aborts the stream both ways. */
  cancel(): void;
}

/** Calls services. */
export interface Client {
  /**
   * Calls `endpoint` (`Handler.Method`) on `service` and resolves with the response. Rejects
   * with a MicroError: 503 when the service has no nodes, 408 when the budget is spent, or the
   * error the handler threw.
   */
  call<Res = unknown, Req = unknown>(
    service: string,
    endpoint: string,
    request: Req,
    opts?: CallOptions,
  ): Promise<Res>;
  /** Opens a bidirectional stream to `endpoint` on `service`. */
  stream<Send = unknown, Recv = unknown>(
    service: string,
    endpoint: string,
    opts?: CallOptions,
  ): Promise<ClientStream<Send, Recv>>;
  /** Publishes `message` to `topic` on the broker. */
  publish(topic: string, message: unknown, opts?: PublishOptions): Promise<void>;
}
