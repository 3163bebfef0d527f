import type {
  Context as OtelContext,
  Span,
  SpanKind as OtelSpanKind,
  TextMapPropagator,
  TracerProvider,
} from '@opentelemetry/api';
import type { CallOptions, CallWrapper, ClientWrapper, PublishOptions } from '../client/client.js';
import { currentContext } from '../context.js';
import { importPeers } from '../internal/optional-peer.js';
import { checkComponent } from '../options.js';
import type { HandlerWrapper, SubscriberWrapper } from '../server/server.js';
import { attemptCounter, codeOf, endpointKey } from './shared.js';

const peers = await importPeers('tsmicro/wrappers/tracing', {
  '@opentelemetry/api': () => import('@opentelemetry/api'),
  '@opentelemetry/core': () => import('@opentelemetry/core'),
});
const {
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} = peers['@opentelemetry/api'];
const { W3CTraceContextPropagator } = peers['@opentelemetry/core'];
type SpanKind = OtelSpanKind;

/** Options for {@link tracing}. */
export interface TracingOptions {
  /**
   * Where spans go. @defaultValue the global provider of `@opentelemetry/api`
   * (`trace.getTracerProvider()`)
   */
  tracerProvider?: TracerProvider;
  /**
   * How span context travels in metadata and message headers. @defaultValue W3C trace context
   * (`traceparent`, `tracestate`)
   */
  propagator?: TextMapPropagator;
}

/** Tracing wrappers sharing one tracer and propagator. */
export interface Tracing {
  /** A span per call (`service.endpoint`), per stream opened and per publish (`Pub to topic`). */
  readonly client: ClientWrapper;
  /** A span per attempt, child of the call's span; its context goes out in the request metadata. */
  readonly call: CallWrapper;
  /**
   * A server span per handled request, child of the caller's attempt; calls made inside it are its
   * children.
   */
  readonly handler: HandlerWrapper;
  /** A consumer span per delivered event (`Sub from topic`), child of the publish span. */
  readonly subscriber: SubscriberWrapper;
}

/** The instrumentation scope name the spans are recorded under. */
export const TRACER_NAME = 'tsmicro';

/**
 * OpenTelemetry tracing (go-micro's opentracing / opentelemetry wrappers): spans for call,
 * attempt, handle, publish and subscribe, with W3C trace context carried in metadata across hops
 * and in message headers through the broker.
 *
 * Calls made inside a handler find the handler's span through the OpenTelemetry context manager
 * (register one, e.g. `AsyncLocalStorageContextManager`, as every OpenTelemetry Node setup does);
 * without one they still join the caller's trace, as children of the inbound attempt.
 */
export function tracing(opts: TracingOptions = {}): Tracing {
  const provider =
    checkComponent('tracerProvider', opts.tracerProvider, ['getTracer']) ??
    trace.getTracerProvider();
  const propagator =
    checkComponent('propagator', opts.propagator, ['inject', 'extract']) ??
    new W3CTraceContextPropagator();
  const tracer = provider.getTracer(TRACER_NAME);
  const attemptOf = attemptCounter();

  const extract = (headers: Readonly<Record<string, string>>): OtelContext =>
    propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
  const inject = (ctx: OtelContext): Record<string, string> => {
    const carrier: Record<string, string> = {};
    propagator.inject(ctx, carrier, defaultTextMapSetter);
    return carrier;
  };
  /**
   * The active span's context, else the inbound request's (calls made inside a handler without a
   * context manager).
   */
  const parentContext = (): OtelContext => {
    const active = context.active();
    if (trace.getSpan(active)) return active;
    const inbound = currentContext()?.metadata;
    return inbound ? extract(inbound) : active;
  };

  /** Runs `fn` as `span`'s child context, recording the outcome on the span and ending it. */
  async function within<T>(
    parent: OtelContext,
    span: Span,
    fn: (spanCtx: OtelContext) => Promise<T>,
  ): Promise<T> {
    const spanCtx = trace.setSpan(parent, span);
    try {
      return await context.with(spanCtx, () => fn(spanCtx));
    } catch (err) {
      span.recordException(err instanceof Error ? err : String(err));
      span.setAttribute('micro.error_code', codeOf(err));
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: err instanceof Error ? err.message : String(err),
      });
      throw err;
    } finally {
      span.end();
    }
  }

  const clientSpan = (
    name: string,
    kind: SpanKind,
    attributes: Record<string, string>,
  ): { parent: OtelContext; span: Span } => {
    const parent = parentContext();
    return { parent, span: tracer.startSpan(name, { kind, attributes }, parent) };
  };

  return {
    client: (next) => ({
      call<Res, Req>(
        service: string,
        endpoint: string,
        request: Req,
        callOpts?: CallOptions,
      ): Promise<Res> {
        const { parent, span } = clientSpan(endpointKey(service, endpoint), SpanKind.CLIENT, {
          'rpc.system': 'go-micro',
          'rpc.service': service,
          'rpc.method': endpoint,
        });
        return within(parent, span, (spanCtx) =>
          next.call<Res, Req>(service, endpoint, request, {
            ...callOpts,
            metadata: { ...callOpts?.metadata, ...inject(spanCtx) },
          }),
        );
      },
      stream(service, endpoint, callOpts) {
        const { parent, span } = clientSpan(
          `${endpointKey(service, endpoint)} stream`,
          SpanKind.CLIENT,
          { 'rpc.system': 'go-micro', 'rpc.service': service, 'rpc.method': endpoint },
        );
        return within(parent, span, (spanCtx) =>
          next.stream(service, endpoint, {
            ...callOpts,
            metadata: { ...callOpts?.metadata, ...inject(spanCtx) },
          }),
        );
      },
      publish(topic: string, message: unknown, pubOpts?: PublishOptions): Promise<void> {
        const { parent, span } = clientSpan(`Pub to ${topic}`, SpanKind.PRODUCER, {
          'messaging.destination.name': topic,
        });
        return within(parent, span, (spanCtx) =>
          next.publish(topic, message, {
            ...pubOpts,
            metadata: { ...pubOpts?.metadata, ...inject(spanCtx) },
          }),
        );
      },
    }),
    call: (next) => (ctx, node, req, o) => {
      const active = context.active();
      const parent = trace.getSpan(active) ? active : extract(ctx.metadata);
      const span = tracer.startSpan(
        `${endpointKey(req.service, req.endpoint)} attempt`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'rpc.system': 'go-micro',
            'rpc.service': req.service,
            'rpc.method': req.endpoint,
            'server.address': node.address,
            'micro.node_id': node.id,
            'micro.attempt': attemptOf(req),
          },
        },
        parent,
      );
      return within(parent, span, (spanCtx) =>
        next({ ...ctx, metadata: { ...ctx.metadata, ...inject(spanCtx) } }, node, req, o),
      );
    },
    handler: (next) => (req, ctx) => {
      const parent = extract(ctx.metadata);
      const span = tracer.startSpan(
        endpointKey(ctx.service, ctx.endpoint),
        {
          kind: SpanKind.SERVER,
          attributes: {
            'rpc.system': 'go-micro',
            'rpc.service': ctx.service,
            'rpc.method': ctx.endpoint,
            ...(req.remote ? { 'client.address': req.remote } : {}),
          },
        },
        parent,
      );
      return within(parent, span, () => next(req, ctx));
    },
    subscriber: (next) => (msg, ctx) => {
      const parent = extract(ctx.metadata);
      const span = tracer.startSpan(
        `Sub from ${ctx.topic}`,
        { kind: SpanKind.CONSUMER, attributes: { 'messaging.destination.name': ctx.topic } },
        parent,
      );
      return within(parent, span, () => next(msg, ctx));
    },
  };
}
