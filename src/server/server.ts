import type { HandlerContext } from '../context.js';
import type { Health } from '../health/health.js';
import type { Metadata } from '../metadata.js';
import type { JsonSchema } from '../registry/endpoint-schemas.js';
import type { Node, Value } from '../registry/registry.js';

/**
 * The server: serves handlers and subscribers, registers itself with a TTL, keeps the
 * registration alive (heartbeat), and on stop deregisters and drains.
 */

/** A unary handler method: request in, response out. Throw a MicroError to answer with an error. */
export type UnaryHandler<Req = never, Res = unknown> = (
  request: Req,
  ctx: HandlerContext,
) => Res | Promise<Res>;

/** The server end of a bidirectional stream. Iterate it to receive the client's messages. */
export interface ServerStream<Recv = unknown, Send = unknown> extends AsyncIterable<Recv> {
  /** Sends one message to the client; resolves when the transport can take more. */
  send(message: Send): Promise<void>;
}

const STREAM = Symbol.for('tsmicro.streamHandler');

/** A streaming handler, made with {@link streaming}. */
export interface StreamHandler<Recv = never, Send = unknown> {
  readonly [STREAM]: true;
  readonly fn: (stream: ServerStream<Recv, Send>, ctx: HandlerContext) => Promise<void>;
}

/** Marks a method as streaming: it gets a {@link ServerStream} instead of one request. */
export function streaming<Recv = unknown, Send = unknown>(
  fn: (stream: ServerStream<Recv, Send>, ctx: HandlerContext) => Promise<void>,
): StreamHandler<Recv, Send> {
  return { [STREAM]: true, fn };
}

/** True for values made with {@link streaming}. */
export function isStreamHandler(value: unknown): value is StreamHandler<unknown, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[STREAM] === true
  );
}

/** The methods of one handler: `handle('Greeter', { Hello, Chat: streaming(...) })`. */
export type HandlerMethods = Record<
  string,
  UnaryHandler<never, unknown> | StreamHandler<never, unknown>
>;

/**
 * What the registry shows of one endpoint's types: go-micro's `Endpoint.request`/`response` trees,
 * and the JSON Schemas, published in the endpoint's metadata (read them back with
 * `endpointSchemas`). Each part is optional; `implement()` fills them in from a contract.
 */
export interface EndpointTypes {
  /** The request type as go-micro describes it; `null` (or absent) publishes none. */
  request?: Value | null;
  /** The response type as go-micro describes it; `null` (or absent) publishes none. */
  response?: Value | null;
  /**
   * The request's JSON Schema. Left out, with a warning naming the endpoint, when its compact
   * JSON is over `DEFAULTS.registrySchemaMaxBytes`.
   */
  requestSchema?: JsonSchema;
  /** The response's JSON Schema; left out over the same limit. */
  responseSchema?: JsonSchema;
  /**
   * Why a part is missing (a schema the library could not describe as JSON Schema): the server
   * logs each as a warning naming the endpoint when it adds it.
   */
  warnings?: readonly string[];
}

/** Per-handler options. */
export interface HandleOptions {
  /** Extra metadata per endpoint (method name → metadata), published in the registry. */
  endpointMetadata?: Record<string, Record<string, string>>;
  /**
   * The types each endpoint publishes in the registry (method name → types). Without them an
   * endpoint publishes none, as before.
   */
  endpointTypes?: Record<string, EndpointTypes>;
}

/** A request as handler wrappers see it (body decoded). */
export interface ServerRequest {
  readonly service: string;
  readonly endpoint: string;
  readonly contentType: string;
  /** The decoded request, or the {@link ServerStream} for streaming endpoints. */
  readonly body: unknown;
  readonly stream: boolean;
  /** Caller address, when the transport knows it. */
  readonly remote?: string;
}

/** Runs a handler; what handler wrappers wrap. Resolves with the (not yet encoded) response. */
export type HandlerFunc = (req: ServerRequest, ctx: HandlerContext) => Promise<unknown>;

/** Wraps every handler call. The first in a list is outermost. */
export type HandlerWrapper = (next: HandlerFunc) => HandlerFunc;

/** The context a subscriber receives: headers as metadata, plus the topic. */
export interface SubscriberContext {
  readonly topic: string;
  /** Message headers, keys lowercased. */
  readonly metadata: Metadata;
}

/**
 * Handles one event. Throwing reports the failure (logged, surfaced to wrappers); the subscription
 * stays.
 */
export type Subscriber<T = never> = (event: T, ctx: SubscriberContext) => void | Promise<void>;

/** An event as subscriber wrappers see it. */
export interface ServerMessage {
  readonly topic: string;
  readonly contentType: string;
  /** Headers as received. */
  readonly header: Readonly<Record<string, string>>;
  /** The decoded event. */
  readonly body: unknown;
}

/** Runs a subscriber; what subscriber wrappers wrap. */
export type SubscriberFunc = (msg: ServerMessage, ctx: SubscriberContext) => Promise<void>;

/** Wraps every subscriber call. The first in a list is outermost. */
export type SubscriberWrapper = (next: SubscriberFunc) => SubscriberFunc;

/** What the registry shows of a subscriber's event: go-micro sets its endpoint's `request`. */
export type SubscriberTypes = Pick<EndpointTypes, 'request' | 'requestSchema' | 'warnings'>;

/** Options for {@link Server.subscribe}. */
export interface ServerSubscribeOptions {
  /** Queue group: one instance per group receives each event. Omit for broadcast. */
  queue?: string;
  /** The event's type and JSON Schema, published with the subscriber's endpoint. */
  endpointTypes?: SubscriberTypes;
}

/** Serves handlers and subscribers. */
export interface Server {
  /**
   * Registers the methods of handler `name`; endpoints are `name.Method`. May be called after
   * start.
   */
  handle(name: string, methods: HandlerMethods, opts?: HandleOptions): void;
  /** Subscribes to `topic` (from start on). */
  subscribe<T = unknown>(
    topic: string,
    subscriber: Subscriber<T>,
    opts?: ServerSubscribeOptions,
  ): void;
  /** Listens, subscribes, registers, and starts the heartbeat. */
  start(): Promise<void>;
  /** Deregisters, stops accepting, drains in-flight requests, unsubscribes. */
  stop(): Promise<void>;
  /** The registered node, once started. */
  readonly node: Node | undefined;
  /** The node's health: its checks, liveness and readiness (see {@link Health}). */
  readonly health: Health;
}
