import type { CallOptions, Client, ClientStream, PublishOptions } from '../client/client.js';
import { CLIENT_ERROR_ID, InvalidOptionError, MicroError } from '../errors.js';
import { checkBoolean, checkRegistryName } from '../options.js';
import type { EndpointDefinition, ServiceContract, TopicContract } from './define.js';
import type { InputOf, OutputOf, Schema } from './schema.js';
import { checkFor, type Check } from './validate.js';

/** The caller's end of a server stream: it only receives. Iterate it, or call `recv`. */
export interface ResponseStream<Recv> extends AsyncIterable<Recv> {
  /** The next message, or undefined once the server has finished. */
  recv(): Promise<Recv | undefined>;
  /** Stops the stream. */
  cancel(): void;
}

/** The caller's end of a client stream: it sends many, then receives the one response. */
export interface RequestStream<Send, Recv> {
  /** Sends one message; resolves when the transport can take more. */
  send(message: Send): Promise<void>;
  /** Ends the sending side and resolves with the server's response. */
  closeAndRecv(): Promise<Recv>;
  /** Stops the stream. */
  cancel(): void;
}

/** How a client calls one endpoint, by the way the endpoint streams. */
export type EndpointClient<E extends EndpointDefinition> = E extends { readonly stream: 'server' }
  ? (
      request: InputOf<E['request']>,
      opts?: CallOptions,
    ) => Promise<ResponseStream<OutputOf<E['response']>>>
  : E extends { readonly stream: 'client' }
    ? (opts?: CallOptions) => Promise<RequestStream<InputOf<E['request']>, OutputOf<E['response']>>>
    : E extends { readonly stream: 'bidi' }
      ? (
          opts?: CallOptions,
        ) => Promise<ClientStream<InputOf<E['request']>, OutputOf<E['response']>>>
      : (request: InputOf<E['request']>, opts?: CallOptions) => Promise<OutputOf<E['response']>>;

/** The typed client of a service contract: `greeter.Greeter.Hello(request, opts)`. */
export type ContractClient<C extends ServiceContract> = {
  readonly [H in keyof C['handlers']]: {
    readonly [M in keyof C['handlers'][H]]: EndpointClient<C['handlers'][H][M]>;
  };
};

/** The typed publisher of a topic contract. */
export interface TopicPublisher<S extends Schema> {
  readonly topic: string;
  /** Publishes one event; resolves once the broker has accepted it. */
  publish(event: InputOf<S>, opts?: PublishOptions): Promise<void>;
}

/** Options for {@link clientFor}. */
export interface ClientForOptions {
  /**
   * Call this service name instead of the contract's: a contract generated from a `.proto` file,
   * as protoc-gen-micro's `NewGreeterService(name, client)`, is served under whatever name.
   */
  name?: string;
  /**
   * Validate each request against its schema before anything is sent: one that fails is rejected
   * with a 400 from `go.micro.client`, naming each failing field. Schemas that only carry a type
   * are never validated. @defaultValue false (the server validates)
   */
  validate?: boolean;
}

/** Options for {@link publisherFor}. */
export interface PublisherForOptions {
  /**
   * Validate each event against the topic's schema before it is published: one that fails is
   * rejected with a 400 from `go.micro.client`. @defaultValue false (subscribers validate)
   */
  validate?: boolean;
}

/**
 * The typed client of a service contract, on `client` (a service's client, or one from
 * createClient): each `Handler.Method` is a function taking the request and the usual
 * {@link CallOptions}. An endpoint the contract marks idempotent is called with
 * `idempotent: true`, and one with a `hedge` hedged so, unless the call says otherwise.
 *
 * @example
 * ```ts
 * const greeter = clientFor(Greeter, service.client);
 * const { msg } = await greeter.Greeter.Hello({ name: 'Ada' }, { timeoutMs: 2000 });
 * ```
 */
export function clientFor<C extends ServiceContract>(
  contract: C,
  client: Client,
  opts: ClientForOptions = {},
): ContractClient<C> {
  checkClient('clientFor', client);
  const validate = checkBoolean('clientFor.validate', opts.validate) ?? false;
  if (contract?.kind !== 'service')
    throw new InvalidOptionError('clientFor.contract', 'expected a contract from defineService()');
  const name = checkRegistryName('clientFor.name', opts.name) ?? contract.name;
  const handlers: Record<string, Record<string, unknown>> = {};
  for (const [handler, methods] of Object.entries(contract.handlers)) {
    const out: Record<string, unknown> = {};
    for (const [method, def] of Object.entries(methods))
      out[method] = endpointClient(client, name, `${handler}.${method}`, def, validate);
    handlers[handler] = Object.freeze(out);
  }
  return Object.freeze(handlers) as ContractClient<C>;
}

/**
 * The typed publisher of a topic contract, on `client`.
 *
 * @example
 * ```ts
 * await publisherFor(UserJoined, service.client).publish({ user: 'ada' });
 * ```
 */
export function publisherFor<S extends Schema>(
  contract: TopicContract<S>,
  client: Client,
  opts: PublisherForOptions = {},
): TopicPublisher<S> {
  checkClient('publisherFor', client);
  const validate = checkBoolean('publisherFor.validate', opts.validate) ?? false;
  if (contract?.kind !== 'topic')
    throw new InvalidOptionError('publisherFor.contract', 'expected a contract from defineTopic()');
  const check = validate
    ? checkFor(contract.event, 400, `invalid event for ${contract.topic}`)
    : undefined;
  return Object.freeze({
    topic: contract.topic,
    publish: async (event: InputOf<S>, o?: PublishOptions) =>
      client.publish(contract.topic, check ? await check(event, CLIENT_ERROR_ID) : event, o),
  });
}

function checkClient(at: string, client: Client): void {
  if (typeof client?.call !== 'function')
    throw new InvalidOptionError(
      `${at}.client`,
      'expected a Client (service.client, or createClient())',
    );
}

/** `{ idempotent: true }` made once: the common call with no options of its own allocates nothing. */
const IDEMPOTENT: CallOptions = Object.freeze({ idempotent: true });

/**
 * Applies an endpoint's defaults under a call's own options: the call's options win, key by key.
 */
function endpointDefaults(
  defaults: Readonly<Pick<CallOptions, 'idempotent' | 'hedge'>>,
): (o: CallOptions | undefined) => CallOptions {
  return (o) => {
    if (o === undefined) return defaults;
    if (o.idempotent !== undefined && (defaults.hedge === undefined || o.hedge !== undefined))
      return o;
    return {
      ...o,
      idempotent: o.idempotent ?? defaults.idempotent,
      ...(defaults.hedge !== undefined && o.hedge === undefined ? { hedge: defaults.hedge } : {}),
    };
  };
}

function endpointClient(
  client: Client,
  service: string,
  endpoint: string,
  def: EndpointDefinition,
  validate: boolean,
): unknown {
  const check = validate ? checkFor(def.request, 400, `invalid request to ${endpoint}`) : undefined;
  const options = def.hedge
    ? endpointDefaults(Object.freeze({ idempotent: true, hedge: def.hedge }))
    : def.idempotent
      ? endpointDefaults(IDEMPOTENT)
      : (o: CallOptions | undefined): CallOptions | undefined => o;

  switch (def.stream) {
    case 'server':
      return async (request: unknown, o?: CallOptions) => {
        const checked = check ? await check(request, CLIENT_ERROR_ID) : request;
        const stream = await client.stream(service, endpoint, options(o));
        try {
          await stream.send(checked);
          stream.closeSend();
        } catch (err) {
          stream.cancel();
          throw err;
        }
        return responseStream(stream);
      };
    case 'client':
      return async (o?: CallOptions) =>
        requestStream(await client.stream(service, endpoint, options(o)), endpoint, check);
    case 'bidi':
      return async (o?: CallOptions) => {
        const stream = await client.stream(service, endpoint, options(o));
        return check ? checkedSends(stream, check) : stream;
      };
    default:
      // The unary path stays the untyped call itself when nothing is validated.
      if (!check)
        return (request: unknown, o?: CallOptions) =>
          client.call(service, endpoint, request, options(o));
      return (request: unknown, o?: CallOptions) => {
        // A refused request rejects the call (it never throws); a synchronous schema costs no
        // extra promise.
        let checked: unknown;
        try {
          checked = check(request, CLIENT_ERROR_ID);
        } catch (err) {
          return Promise.reject(MicroError.from(err, CLIENT_ERROR_ID));
        }
        return checked instanceof Promise
          ? checked.then((value) => client.call(service, endpoint, value, options(o)))
          : client.call(service, endpoint, checked, options(o));
      };
  }
}

function responseStream<Recv>(stream: ClientStream<unknown, Recv>): ResponseStream<Recv> {
  return {
    recv: () => stream.recv(),
    cancel: () => stream.cancel(),
    [Symbol.asyncIterator]: () => stream[Symbol.asyncIterator](),
  };
}

function requestStream(
  stream: ClientStream,
  endpoint: string,
  check: Check | undefined,
): RequestStream<unknown, unknown> {
  return {
    send: async (message) => stream.send(check ? await check(message, CLIENT_ERROR_ID) : message),
    async closeAndRecv() {
      stream.closeSend();
      const response = await stream.recv();
      if (response === undefined)
        throw new MicroError(
          CLIENT_ERROR_ID,
          502,
          `${endpoint} ended its stream without a response`,
        );
      // Read on to the end: the stream's status may still be an error, and ending it releases
      // its deadline timer.
      if ((await stream.recv()) !== undefined) {
        stream.cancel();
        throw new MicroError(CLIENT_ERROR_ID, 502, `${endpoint} sent more than one response`);
      }
      return response;
    },
    cancel: () => stream.cancel(),
  };
}

function checkedSends(stream: ClientStream, check: Check): ClientStream {
  return {
    send: async (message) => stream.send(await check(message, CLIENT_ERROR_ID)),
    closeSend: () => stream.closeSend(),
    recv: () => stream.recv(),
    cancel: () => stream.cancel(),
    [Symbol.asyncIterator]: () => stream[Symbol.asyncIterator](),
  };
}
