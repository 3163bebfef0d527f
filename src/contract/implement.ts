import type { HandlerContext } from '../context.js';
import { InvalidOptionError, MicroError, SERVER_ERROR_ID } from '../errors.js';
import { checkBoolean } from '../options.js';
import type {
  HandleOptions,
  HandlerMethods,
  Server,
  ServerStream,
  ServerSubscribeOptions,
  SubscriberContext,
} from '../server/server.js';
import { streaming } from '../server/server.js';
import type { EndpointDefinition, ServiceContract, TopicContract } from './define.js';
import { endpointTypes, eventTypes } from './describe.js';
import type { InputOf, OutputOf, Schema } from './schema.js';
import { afterCheck, checkFor } from './validate.js';

/** The handler's end of a server stream: it only sends. */
export interface ResponseSender<Send> {
  /** Sends one message to the caller; resolves when the transport can take more. */
  send(message: Send): Promise<void>;
}

/** What implements one endpoint, by the way the endpoint streams. */
export type EndpointHandler<E extends EndpointDefinition> = E extends { readonly stream: 'server' }
  ? (
      request: OutputOf<E['request']>,
      stream: ResponseSender<InputOf<E['response']>>,
      ctx: HandlerContext,
    ) => Promise<void>
  : E extends { readonly stream: 'client' }
    ? (
        requests: AsyncIterable<OutputOf<E['request']>>,
        ctx: HandlerContext,
      ) => Promise<InputOf<E['response']>>
    : E extends { readonly stream: 'bidi' }
      ? (
          stream: ServerStream<OutputOf<E['request']>, InputOf<E['response']>>,
          ctx: HandlerContext,
        ) => Promise<void>
      : (
          request: OutputOf<E['request']>,
          ctx: HandlerContext,
        ) => InputOf<E['response']> | Promise<InputOf<E['response']>>;

/**
 * The handlers of a service contract, every method of every handler (go-micro's generated
 * `GreeterHandler` interface): request in as the schema's output, response out as its input.
 */
export type ContractHandlers<C extends ServiceContract> = {
  readonly [H in keyof C['handlers']]: {
    readonly [M in keyof C['handlers'][H]]: EndpointHandler<C['handlers'][H][M]>;
  };
};

/** A subscriber to a topic contract: it only ever receives events its schema accepted. */
export type TopicSubscriber<S extends Schema> = (
  event: OutputOf<S>,
  ctx: SubscriberContext,
) => unknown;

/** Options for {@link implement}. */
export interface ImplementOptions {
  /**
   * Validate what each handler answers against the response schema too: one that fails is
   * answered with a 500 naming each failing field, and never sent. @defaultValue false
   */
  validateResponses?: boolean;
}

/** What {@link implement} and {@link subscribeTo} register on: a Server, or a Service. */
export type HandlerTarget = Pick<Server, 'handle' | 'subscribe'>;

/**
 * Registers the typed handlers of a service contract on a server or service, every method of
 * every handler (go-micro's generated `RegisterGreeterHandler(server, impl)`).
 *
 * Requests are validated against their schemas before the handler runs: one that fails is answered
 * with a 400 from `go.micro.server` whose detail names each failing field and why, and the handler
 * never sees it. Schemas that only carry a type add nothing per call. Throws InvalidOptionError
 * naming a missing method (`implement.handlers.Greeter.Hello`) before registering anything.
 *
 * Each endpoint (and a topic's subscriber) is published in the registry with its request and
 * response as go-micro `Value` trees and, where the schema library can give one, their JSON
 * Schemas in the endpoint metadata (read them with `endpointSchemas`); see
 * {@link RegistryDescribed} for a schema that brings its own Value.
 *
 * @example
 * ```ts
 * implement(service, Greeter, {
 *   Greeter: { Hello: ({ name }) => ({ msg: `Hello ${name}` }) },
 * });
 * ```
 */
export function implement<C extends ServiceContract>(
  target: HandlerTarget,
  contract: C,
  handlers: ContractHandlers<C>,
  opts: ImplementOptions = {},
): void {
  if (typeof target?.handle !== 'function')
    throw new InvalidOptionError('implement.target', 'expected a Server or a Service');
  if (contract?.kind !== 'service')
    throw new InvalidOptionError('implement.contract', 'expected a contract from defineService()');
  const validateResponses =
    checkBoolean('implement.validateResponses', opts.validateResponses) ?? false;
  const impl: unknown = handlers;
  if (typeof impl !== 'object' || impl === null)
    throw new InvalidOptionError('implement.handlers', 'expected { Handler: { Method: fn } }');
  // Checked whole before anything is registered, so a missing method leaves the server as it was.
  const registrations: [string, HandlerMethods, HandleOptions][] = [];
  for (const [handler, defs] of Object.entries(contract.handlers)) {
    const methods = (impl as Record<string, unknown>)[handler];
    if (typeof methods !== 'object' || methods === null)
      throw new InvalidOptionError(
        `implement.handlers.${handler}`,
        'expected an object of methods',
      );
    const out: Record<string, HandlerMethods[string]> = {};
    const endpointMetadata: Record<string, Record<string, string>> = {};
    const types: NonNullable<HandleOptions['endpointTypes']> = {};
    for (const [method, def] of Object.entries(defs)) {
      const fn = (methods as Record<string, unknown>)[method];
      if (typeof fn !== 'function')
        throw new InvalidOptionError(
          `implement.handlers.${handler}.${method}`,
          'expected a function',
        );
      const bound = (fn as AnyFn).bind(methods);
      out[method] = endpointMethod(`${handler}.${method}`, def, bound, validateResponses);
      if (def.description !== undefined)
        endpointMetadata[method] = { description: def.description };
      types[method] = endpointTypes(method, def);
    }
    registrations.push([handler, out, { endpointMetadata, endpointTypes: types }]);
  }
  for (const [handler, methods, handleOpts] of registrations)
    target.handle(handler, methods, handleOpts);
}

/**
 * Subscribes a typed subscriber to a topic contract on a server or service. Each event is
 * validated against the topic's schema first: one that fails is logged and dropped as a malformed
 * event is (a 400, which a broker with acknowledgements does not redeliver), and the subscriber
 * never sees it.
 *
 * @example
 * ```ts
 * subscribeTo(service, UserJoined, (event) => console.log(event.user), { queue: 'mailer' });
 * ```
 */
export function subscribeTo<S extends Schema>(
  target: HandlerTarget,
  contract: TopicContract<S>,
  subscriber: TopicSubscriber<S>,
  opts?: ServerSubscribeOptions,
): void {
  if (typeof target?.subscribe !== 'function')
    throw new InvalidOptionError('subscribeTo.target', 'expected a Server or a Service');
  if (contract?.kind !== 'topic')
    throw new InvalidOptionError('subscribeTo.contract', 'expected a contract from defineTopic()');
  const fn: unknown = subscriber;
  if (typeof fn !== 'function')
    throw new InvalidOptionError(
      'subscribeTo.subscriber',
      'expected a function (event, ctx) => ...',
    );
  const run = fn as (event: unknown, ctx: SubscriberContext) => unknown;
  const check = checkFor(contract.event, 400, `invalid event on ${contract.topic}`);
  const subscribeOpts: ServerSubscribeOptions = {
    ...opts,
    endpointTypes: opts?.endpointTypes ?? eventTypes(contract.topic, contract.event),
  };
  target.subscribe(
    contract.topic,
    (event: unknown, ctx: SubscriberContext) =>
      (check
        ? afterCheck(check(event, SERVER_ERROR_ID), (checked) => run(checked, ctx))
        : run(event, ctx)) as void | Promise<void>,
    subscribeOpts,
  );
}

type AnyFn = (...args: unknown[]) => unknown;

/** One contract method as the router takes it: validation folded around the user's function. */
function endpointMethod(
  endpoint: string,
  def: EndpointDefinition,
  fn: AnyFn,
  validateResponses: boolean,
): HandlerMethods[string] {
  const checkRequest = checkFor(def.request, 400, `invalid request to ${endpoint}`);
  const checkResponse = validateResponses
    ? checkFor(def.response, 500, `invalid response from ${endpoint}`)
    : undefined;
  // A refused request is the caller's 400 from the framework; a refused response is the serving
  // service's 500, as any other failure of its handler.
  const request = (value: unknown): unknown =>
    checkRequest ? checkRequest(value, SERVER_ERROR_ID) : value;
  const response = (value: unknown, ctx: HandlerContext): unknown =>
    checkResponse ? checkResponse(value, ctx.service) : value;

  switch (def.stream) {
    case 'server':
      return streaming(async (stream: ServerStream, ctx) => {
        const checked = await request(await firstMessage(stream, endpoint));
        const send = async (m: unknown): Promise<void> => stream.send(await response(m, ctx));
        await fn(checked, { send }, ctx);
      });
    case 'client':
      return streaming(async (stream: ServerStream, ctx) => {
        const answer = await fn(checkRequest ? checkedMessages(stream, request) : stream, ctx);
        await stream.send(await response(answer, ctx));
      });
    case 'bidi':
      return streaming(async (stream: ServerStream, ctx) => {
        if (!checkRequest && !checkResponse) return fn(stream, ctx) as Promise<void>;
        const messages = checkRequest ? checkedMessages(stream, request) : stream;
        await fn(
          {
            send: async (m: unknown) => stream.send(await response(m, ctx)),
            [Symbol.asyncIterator]: () => messages[Symbol.asyncIterator](),
          },
          ctx,
        );
      });
    default: {
      // Nothing to validate: the user's method itself, so a contract adds nothing per call.
      if (!checkRequest && !checkResponse) return fn;
      const run = (value: unknown, ctx: HandlerContext): unknown =>
        checkResponse
          ? afterCheck(fn(value, ctx), (answer) => response(answer, ctx))
          : fn(value, ctx);
      if (!checkRequest) return run;
      return (value: unknown, ctx: HandlerContext) =>
        afterCheck(request(value), (checked) => run(checked, ctx));
    }
  }
}

async function firstMessage(stream: ServerStream, endpoint: string): Promise<unknown> {
  const next = await stream[Symbol.asyncIterator]().next();
  if (next.done)
    throw MicroError.badRequest(
      SERVER_ERROR_ID,
      `${endpoint} expects a request before the end of the stream`,
    );
  return next.value;
}

async function* checkedMessages(
  messages: AsyncIterable<unknown>,
  check: (value: unknown) => unknown,
): AsyncIterable<unknown> {
  for await (const message of messages) yield await check(message);
}
