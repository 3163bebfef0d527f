import type { Codec, CodecHint } from '../codec/codec.js';
import { findCodec } from '../codec/codec.js';
import { composeWrappers } from '../compose.js';
import { runWithContext, type HandlerContext } from '../context.js';
import { InvalidOptionError, MicroError, SERVER_ERROR_ID } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Endpoint, Value } from '../registry/registry.js';
import type {
  Dispatcher,
  EndpointKind,
  FrameStream,
  InboundHead,
  ServingStatusSource,
  SignalSource,
  UnaryCall,
} from '../transport/transport.js';
import type { HandlerErrors } from './handler-errors.js';
import type {
  HandleOptions,
  HandlerFunc,
  HandlerMethods,
  HandlerWrapper,
  ServerRequest,
  ServerStream,
} from './server.js';
import { isStreamHandler } from './server.js';
import { publishedTypes } from './endpoint-types.js';

interface Route {
  kind: EndpointKind;
  /**
   * The user's method with the wrappers folded around it. With no wrappers it is the method
   * itself, which may return a plain value or throw: no promise is made for it.
   */
  run: (req: ServerRequest, ctx: HandlerContext) => unknown;
  metadata: Record<string, string>;
  /** What the registry shows of the request and response types, when the handler said. */
  request?: Value | null;
  response?: Value | null;
  /** Made once per endpoint rather than per call. */
  requestHint: CodecHint;
  responseHint: CodecHint;
  /** Codecs this route prefers over the server's (a built-in handler's own messages). */
  codecs?: readonly Codec[];
}

/**
 * The endpoint table: `Handler.Method` → handler. Implements the transport {@link Dispatcher}:
 * decode → context → wrappers → handler → encode, and turns every failure into a MicroError.
 */
export class Router implements Dispatcher {
  private readonly routes = new Map<string, Route>();
  private readonly handlerNames = new Set<string>();
  /** Handlers the server adds itself: unpublished, and replaced by an application's own. */
  private readonly builtins = new Set<string>();
  /** Requests (unary calls and streams) in their handlers now; stop() reports it. */
  inflight = 0;
  /** The server's serving status, answered by transports with a health protocol. */
  health?: ServingStatusSource;

  constructor(
    readonly service: string,
    /** The service version and node id handlers see in their context. */
    readonly version: string,
    readonly nodeId: string,
    private readonly codecs: readonly Codec[],
    private readonly wrappers: readonly HandlerWrapper[],
    /** Whether handlers run in AsyncLocalStorage (see `ServerOptions.implicitContext`). */
    private readonly implicitContext: boolean,
    /** Told about endpoint descriptions left out of the registry. */
    private readonly logger: Logger,
    /** Turns what handlers throw into answers, and logs their crashes. */
    private readonly errors: HandlerErrors,
  ) {}

  /**
   * Adds a handler of the server's own (go-micro's internal `Debug`): left out of the registry,
   * answered with `codecs` first, and given way to an application handler of the same name.
   */
  addBuiltin(name: string, methods: HandlerMethods, codecs: readonly Codec[]): void {
    if (this.handlerNames.has(name)) return;
    this.add(name, methods);
    this.builtins.add(name);
    for (const [endpoint, route] of this.routes)
      if (endpoint.startsWith(`${name}.`)) route.codecs = codecs;
  }

  /** Adds the methods of handler `name`. Throws InvalidOptionError on a malformed handler. */
  add(name: string, methods: HandlerMethods, opts: HandleOptions = {}): void {
    if (typeof name !== 'string' || !/^[A-Za-z_][\w]*$/.test(name))
      throw new InvalidOptionError(
        'handle.name',
        `expected an identifier like "Greeter", got ${JSON.stringify(name)}`,
      );
    if (this.builtins.has(name)) this.removeBuiltin(name);
    if (this.handlerNames.has(name))
      throw new InvalidOptionError('handle.name', `handler ${name} is already registered`);
    if (typeof methods !== 'object' || methods === null)
      throw new InvalidOptionError('handle.methods', 'expected an object of methods');
    const types = opts.endpointTypes;
    if (types !== undefined) {
      if (typeof types !== 'object' || types === null)
        throw new InvalidOptionError('handle.opts.endpointTypes', 'expected { Method: types }');
      for (const method of Object.keys(types))
        if (!Object.hasOwn(methods, method))
          throw new InvalidOptionError(
            `handle.opts.endpointTypes.${method}`,
            `handler ${name} has no method ${method}`,
          );
    }
    const added = new Map<string, Route>();
    for (const [method, impl] of Object.entries(methods)) {
      const endpoint = `${name}.${method}`;
      const published = publishedTypes(
        `handle.opts.endpointTypes.${method}`,
        endpoint,
        types?.[method],
        this.logger,
      );
      const metadata = { ...(opts.endpointMetadata?.[method] ?? {}), ...published.metadata };
      const hints = {
        requestHint: { endpoint, kind: 'request' },
        responseHint: { endpoint, kind: 'response' },
        // Always set, undefined or not: every route keeps one shape on the call path.
        request: published.request,
        response: published.response,
      } as const;
      if (isStreamHandler(impl)) {
        const fn = impl.fn;
        added.set(endpoint, {
          kind: 'stream',
          metadata: { ...metadata, stream: 'true' },
          run: this.wrap((req, ctx) => fn(req.body as ServerStream, ctx)),
          ...hints,
        });
      } else if (typeof impl === 'function') {
        const fn = impl as (req: unknown, ctx: HandlerContext) => unknown;
        const run =
          this.wrappers.length === 0
            ? (req: ServerRequest, ctx: HandlerContext): unknown => fn.call(methods, req.body, ctx)
            : this.wrap(async (req, ctx) => fn.call(methods, req.body, ctx));
        added.set(endpoint, { kind: 'unary', metadata, run, ...hints });
      } else {
        throw new InvalidOptionError(
          `handle.methods.${method}`,
          'expected a function or streaming(fn)',
        );
      }
    }
    if (added.size === 0)
      throw new InvalidOptionError('handle.methods', `handler ${name} has no methods`);
    this.handlerNames.add(name);
    for (const [endpoint, route] of added) this.routes.set(endpoint, route);
  }

  private removeBuiltin(name: string): void {
    this.builtins.delete(name);
    this.handlerNames.delete(name);
    for (const endpoint of [...this.routes.keys()])
      if (endpoint.startsWith(`${name}.`)) this.routes.delete(endpoint);
  }

  private wrap(fn: HandlerFunc): HandlerFunc {
    return composeWrappers(this.wrappers, fn);
  }

  /** Endpoints as published in the registry, sorted by name as go-micro does. */
  endpoints(): Endpoint[] {
    return [...this.routes.entries()]
      .filter(([name]) => !this.builtins.has(name.slice(0, name.indexOf('.'))))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, route]) => {
        const endpoint: Endpoint = { name, metadata: route.metadata };
        if (route.request !== undefined) endpoint.request = route.request;
        if (route.response !== undefined) endpoint.response = route.response;
        return endpoint;
      });
  }

  kind(endpoint: string): EndpointKind | undefined {
    return this.routes.get(endpoint)?.kind;
  }

  unary(head: InboundHead, body: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    return new Promise((resolve, reject) =>
      this.serveUnary(head, body, { signal, replied: resolve, failed: reject }),
    );
  }

  /**
   * decode → context → wrappers → handler → encode, with one promise reaction per call at most
   * (none for a handler that returns a plain value): every promise costs a little more while
   * AsyncLocalStorage's hooks are on, as they are for context propagation.
   */
  serveUnary(head: InboundHead, body: Uint8Array, call: UnaryCall): void {
    let route: Route;
    let codec: Codec;
    let request: unknown;
    try {
      route = this.route(head, 'unary');
      codec = (route.codecs && findCodec(route.codecs, head.contentType)) ?? this.codec(head);
      request = decodeRequest(codec, body, route);
    } catch (err) {
      call.failed(err);
      return;
    }
    this.inflight++;
    const ctx = handlerContext(head, call, this);
    const req = this.request(head, request, false, codec);
    let result: unknown;
    try {
      result = this.run(route, req, ctx);
    } catch (err) {
      this.failed(call, err, head.endpoint);
      return;
    }
    if (isThenable(result))
      result.then(
        (value) => this.replied(call, codec, route, value),
        (err: unknown) => this.failed(call, err, head.endpoint),
      );
    else this.replied(call, codec, route, result);
  }

  async stream(head: InboundHead, frames: FrameStream, signal: AbortSignal): Promise<void> {
    const route = this.route(head, 'stream');
    const codec = this.codec(head);
    const stream = typedStream(frames, codec, head.endpoint);
    const ctx = handlerContext(head, { signal }, this);
    this.inflight++;
    try {
      await this.run(route, this.request(head, stream, true, codec), ctx);
    } catch (err) {
      // A handler's own error keeps its id; anything else is this service's 500.
      throw this.errors.answer(err, head.endpoint);
    } finally {
      this.inflight--;
    }
  }

  /** The route's handler (and wrappers) with `ctx` current, unless implicit context is off. */
  private run(route: Route, req: ServerRequest, ctx: HandlerContext): unknown {
    return this.implicitContext ? runWithContext(ctx, route.run, req, ctx) : route.run(req, ctx);
  }

  private replied(call: UnaryCall, codec: Codec, route: Route, response: unknown): void {
    this.inflight--;
    let bytes: Uint8Array;
    try {
      bytes = codec.encode(response, route.responseHint);
    } catch (err) {
      call.failed(
        MicroError.internal(
          this.service,
          `cannot encode response of ${route.responseHint.endpoint}: ${(err as Error).message}`,
        ),
      );
      return;
    }
    call.replied(bytes);
  }

  private failed(call: UnaryCall, err: unknown, endpoint: string): void {
    this.inflight--;
    // A handler's own error keeps its id; anything else is this service's 500.
    call.failed(this.errors.answer(err, endpoint));
  }

  private route(head: InboundHead, kind: EndpointKind): Route {
    const route = this.routes.get(head.endpoint);
    if (!route)
      throw MicroError.notFound(
        SERVER_ERROR_ID,
        `service ${this.service} has no endpoint ${head.endpoint}`,
      );
    if (route.kind !== kind) {
      throw MicroError.badRequest(
        SERVER_ERROR_ID,
        `endpoint ${head.endpoint} is ${route.kind === 'stream' ? 'streaming' : 'unary'}; call it with ${route.kind === 'stream' ? 'stream()' : 'call()'}`,
      );
    }
    if (head.deadline <= Date.now())
      throw MicroError.timeout(
        SERVER_ERROR_ID,
        `deadline exceeded before ${head.endpoint} started`,
      );
    return route;
  }

  private codec(head: InboundHead): Codec {
    const codec = findCodec(this.codecs, head.contentType);
    if (!codec)
      throw new MicroError(
        SERVER_ERROR_ID,
        415,
        `unsupported content type ${head.contentType} (serving ${this.codecs.map((c) => c.contentType).join(', ')})`,
      );
    return codec;
  }

  private request(head: InboundHead, body: unknown, stream: boolean, codec: Codec): ServerRequest {
    return head.remote === undefined
      ? {
          service: this.service,
          endpoint: head.endpoint,
          contentType: codec.contentType,
          body,
          stream,
        }
      : {
          service: this.service,
          endpoint: head.endpoint,
          contentType: codec.contentType,
          body,
          stream,
          remote: head.remote,
        };
  }
}

function decodeRequest(codec: Codec, body: Uint8Array, route: Route): unknown {
  try {
    return codec.decode(body, route.requestHint);
  } catch (err) {
    throw MicroError.badRequest(
      SERVER_ERROR_ID,
      `malformed request to ${route.requestHint.endpoint}: ${(err as Error).message}`,
    );
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

const SOURCE = Symbol('signal source');
/**
 * `signal` is read from its source only when the handler (or a wrapper) asks for it, through an
 * own getter so that a wrapper spreading the context keeps it. Defined with one shared
 * descriptor: an object literal with a getter makes a closure and accessor pair per call (about
 * twice the cost, measured).
 */
const SIGNAL: PropertyDescriptor = {
  get(this: { [SOURCE]: SignalSource }) {
    return this[SOURCE].signal;
  },
  enumerable: true,
  configurable: true,
};

function handlerContext(
  head: InboundHead,
  abort: SignalSource,
  server: { readonly service: string; readonly version: string; readonly nodeId: string },
): HandlerContext {
  const ctx = {
    deadline: head.deadline,
    metadata: head.metadata,
    service: server.service,
    version: server.version,
    nodeId: server.nodeId,
    endpoint: head.endpoint,
    [SOURCE]: abort,
  };
  return Object.defineProperty(ctx, 'signal', SIGNAL) as typeof ctx & HandlerContext;
}

/** A typed server stream over transport frames. */
function typedStream(frames: FrameStream, codec: Codec, endpoint: string): ServerStream {
  const recvHint: CodecHint = { endpoint, kind: 'request' };
  const sendHint: CodecHint = { endpoint, kind: 'response' };
  const decoded = (r: IteratorResult<Uint8Array>): IteratorResult<unknown> => {
    if (r.done) return r;
    try {
      return { value: codec.decode(r.value, recvHint), done: false };
    } catch (err) {
      throw MicroError.badRequest(
        SERVER_ERROR_ID,
        `malformed stream message to ${endpoint}: ${(err as Error).message}`,
      );
    }
  };
  return {
    // The codec's output is this message's alone: the transport need not copy it.
    send: (message: unknown) => frames.send(codec.encode(message, sendHint), true),
    // A plain iterator rather than an async generator around the frames' one: that costs two
    // more promises per message.
    [Symbol.asyncIterator](): AsyncIterator<unknown> {
      const it = frames[Symbol.asyncIterator]();
      return {
        next: () => it.next().then(decoded),
        return: (): Promise<IteratorResult<unknown>> =>
          it.return
            ? it.return().then(() => ({ value: undefined, done: true }))
            : Promise.resolve({ value: undefined, done: true }),
      };
    },
  };
}
