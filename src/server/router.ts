import type { Codec, CodecHint } from '../codec/codec.js';
import { findCodec } from '../codec/codec.js';
import { composeWrappers } from '../compose.js';
import { runWithContext, type HandlerContext } from '../context.js';
import { InvalidOptionError, MicroError, SERVER_ERROR_ID } from '../errors.js';
import type { Endpoint } from '../registry/registry.js';
import type { Dispatcher, EndpointKind, FrameStream, InboundHead, SignalSource } from '../transport/transport.js';
import type { HandleOptions, HandlerFunc, HandlerMethods, HandlerWrapper, ServerRequest, ServerStream } from './server.js';
import { isStreamHandler } from './server.js';

interface Route {
  kind: EndpointKind;
  /** The user's method adapted to a HandlerFunc, wrappers already folded around it. */
  run: HandlerFunc;
  metadata: Record<string, string>;
}

/**
 * The endpoint table: `Handler.Method` → handler. Implements the transport {@link Dispatcher}:
 * decode → context → wrappers → handler → encode, and turns every failure into a MicroError.
 */
export class Router implements Dispatcher {
  private readonly routes = new Map<string, Route>();
  private readonly handlerNames = new Set<string>();

  constructor(
    private readonly service: string,
    private readonly codecs: readonly Codec[],
    private readonly wrappers: readonly HandlerWrapper[],
  ) {}

  /** Adds the methods of handler `name`. Throws InvalidOptionError on a malformed handler. */
  add(name: string, methods: HandlerMethods, opts: HandleOptions = {}): void {
    if (typeof name !== 'string' || !/^[A-Za-z_][\w]*$/.test(name)) throw new InvalidOptionError('handle.name', `expected an identifier like "Greeter", got ${JSON.stringify(name)}`);
    if (this.handlerNames.has(name)) throw new InvalidOptionError('handle.name', `handler ${name} is already registered`);
    if (typeof methods !== 'object' || methods === null) throw new InvalidOptionError('handle.methods', 'expected an object of methods');
    const added = new Map<string, Route>();
    for (const [method, impl] of Object.entries(methods)) {
      const endpoint = `${name}.${method}`;
      const metadata = { ...(opts.endpointMetadata?.[method] ?? {}) };
      if (isStreamHandler(impl)) {
        const fn = impl.fn as (s: ServerStream, ctx: HandlerContext) => Promise<void>;
        added.set(endpoint, { kind: 'stream', metadata: { ...metadata, stream: 'true' }, run: this.wrap((req, ctx) => fn(req.body as ServerStream, ctx)) });
      } else if (typeof impl === 'function') {
        const fn = impl as (req: unknown, ctx: HandlerContext) => unknown;
        added.set(endpoint, { kind: 'unary', metadata, run: this.wrap(async (req, ctx) => fn.call(methods, req.body, ctx)) });
      } else {
        throw new InvalidOptionError(`handle.methods.${method}`, 'expected a function or streaming(fn)');
      }
    }
    if (added.size === 0) throw new InvalidOptionError('handle.methods', `handler ${name} has no methods`);
    this.handlerNames.add(name);
    for (const [endpoint, route] of added) this.routes.set(endpoint, route);
  }

  private wrap(fn: HandlerFunc): HandlerFunc {
    return composeWrappers(this.wrappers, fn);
  }

  /** Endpoints as published in the registry, sorted by name as go-micro does. */
  endpoints(): Endpoint[] {
    return [...this.routes.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, route]) => ({ name, metadata: route.metadata }));
  }

  kind(endpoint: string): EndpointKind | undefined {
    return this.routes.get(endpoint)?.kind;
  }

  unary(head: InboundHead, body: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    return this.unaryLazy(head, body, { signal });
  }

  async unaryLazy(head: InboundHead, body: Uint8Array, abort: SignalSource): Promise<Uint8Array> {
    const route = this.route(head, 'unary');
    const codec = this.codec(head);
    const hint: CodecHint = { endpoint: head.endpoint, kind: 'request' };
    let request: unknown;
    try {
      request = codec.decode(body, hint);
    } catch (err) {
      throw MicroError.badRequest(SERVER_ERROR_ID, `malformed request to ${head.endpoint}: ${(err as Error).message}`);
    }
    const { req, ctx } = this.prepare(head, abort, request, false, codec);
    const response = await this.invoke(route, req, ctx);
    try {
      return codec.encode(response, { endpoint: head.endpoint, kind: 'response' });
    } catch (err) {
      throw MicroError.internal(this.service, `cannot encode response of ${head.endpoint}: ${(err as Error).message}`);
    }
  }

  async stream(head: InboundHead, frames: FrameStream, signal: AbortSignal): Promise<void> {
    const route = this.route(head, 'stream');
    const codec = this.codec(head);
    const stream = typedStream(frames, codec, head.endpoint);
    const { req, ctx } = this.prepare(head, { signal }, stream, true, codec);
    await this.invoke(route, req, ctx);
  }

  private route(head: InboundHead, kind: EndpointKind): Route {
    const route = this.routes.get(head.endpoint);
    if (!route) throw MicroError.notFound(SERVER_ERROR_ID, `service ${this.service} has no endpoint ${head.endpoint}`);
    if (route.kind !== kind) {
      throw MicroError.badRequest(SERVER_ERROR_ID, `endpoint ${head.endpoint} is ${route.kind === 'stream' ? 'streaming' : 'unary'}; call it with ${route.kind === 'stream' ? 'stream()' : 'call()'}`);
    }
    if (head.deadline <= Date.now()) throw MicroError.timeout(SERVER_ERROR_ID, `deadline exceeded before ${head.endpoint} started`);
    return route;
  }

  private codec(head: InboundHead): Codec {
    const codec = findCodec(this.codecs, head.contentType);
    if (!codec) throw new MicroError(SERVER_ERROR_ID, 415, `unsupported content type ${head.contentType} (serving ${this.codecs.map((c) => c.contentType).join(', ')})`);
    return codec;
  }

  private prepare(head: InboundHead, abort: SignalSource, body: unknown, stream: boolean, codec: Codec): { req: ServerRequest; ctx: HandlerContext } {
    // The signal is read from its source only when the handler (or a wrapper) asks for it; an
    // own getter, so a wrapper spreading the context keeps it.
    const ctx: HandlerContext = { deadline: head.deadline, metadata: head.metadata, get signal() { return abort.signal; }, service: this.service, endpoint: head.endpoint };
    const req: ServerRequest = head.remote === undefined
      ? { service: this.service, endpoint: head.endpoint, contentType: codec.contentType, body, stream }
      : { service: this.service, endpoint: head.endpoint, contentType: codec.contentType, body, stream, remote: head.remote };
    return { req, ctx };
  }

  /** Runs the wrapped handler inside the request's context, so calls it makes inherit it. */
  private async invoke(route: Route, req: ServerRequest, ctx: HandlerContext): Promise<unknown> {
    try {
      return await runWithContext(ctx, () => route.run(req, ctx));
    } catch (err) {
      // A handler's own error keeps its id; anything else is this service's 500.
      throw MicroError.from(err, this.service);
    }
  }
}

/** A typed server stream over transport frames. */
function typedStream(frames: FrameStream, codec: Codec, endpoint: string): ServerStream {
  const recvHint: CodecHint = { endpoint, kind: 'request' };
  const sendHint: CodecHint = { endpoint, kind: 'response' };
  return {
    send: (message: unknown) => frames.send(codec.encode(message, sendHint)),
    async *[Symbol.asyncIterator]() {
      for await (const body of frames) {
        try {
          yield codec.decode(body, recvHint);
        } catch (err) {
          throw MicroError.badRequest(SERVER_ERROR_ID, `malformed stream message to ${endpoint}: ${(err as Error).message}`);
        }
      }
    },
  };
}
