import type { StandardSchemaV1, StandardTypedV1 } from '@standard-schema/spec';
import protobuf from 'protobufjs';
import { loadRoot, type ProtoSource } from '../codec/proto-root.js';
import { InvalidOptionError } from '../errors.js';
import { checkBoolean } from '../options.js';
import type { Value } from '../registry/registry.js';
import { defineService, type EndpointDefinition, type ServiceContract } from './define.js';
import { checkMessage } from './proto-check.js';
import { messageValue } from './proto-value.js';
import type { Schema } from './schema.js';

export type { ProtoSource } from '../codec/proto-root.js';

/**
 * A message's object in ts-proto's generated code (`export const HelloRequest`), generated with
 * `outputPartialMethods=true`: its `create` gives the message's TypeScript type. With
 * `outputTypeAnnotations=static-only` it also names the message (`$type`).
 */
export interface ProtoMessageFns<T = unknown> {
  /** The message's full name, `helloworld.HelloRequest` (ts-proto `outputTypeAnnotations`). */
  readonly $type?: string;
  /** A message with every field at its default (ts-proto `outputPartialMethods`). */
  create(...args: never[]): T;
}

/** One method of a ts-proto service definition (`outputServices=generic-definitions`). */
export interface ProtoMethodDefinition {
  /** The method's name in the .proto, `SayHello`. */
  readonly name: string;
  readonly requestType: ProtoMessageFns;
  readonly requestStream: boolean;
  readonly responseType: ProtoMessageFns;
  readonly responseStream: boolean;
  /** The method's options; `idempotencyLevel` is read. */
  readonly options?: { readonly idempotencyLevel?: string };
}

/**
 * A service definition as ts-proto generates it with `outputServices=generic-definitions`
 * (`export const GreeterDefinition`).
 */
export interface ProtoServiceDefinition {
  /** The service's name in the .proto, `Greeter`: the handler name, as protoc-gen-micro's. */
  readonly name: string;
  /** With its package, `helloworld.Greeter`. */
  readonly fullName: string;
  /** By ts-proto's (camelCase) key; each carries the method's own name. */
  readonly methods: { readonly [key: string]: ProtoMethodDefinition };
}

/** The message type of a ts-proto message object. */
export type MessageOf<M extends ProtoMessageFns> = M extends {
  create(...args: never[]): infer T;
}
  ? T
  : never;

/**
 * What a sender may give for a message of type `T`: any field may be left out (it is sent as its
 * default, as in Go), at every depth.
 */
export type ProtoInput<T> = T extends
  string | number | boolean | bigint | Uint8Array | null | undefined
  ? T
  : T extends readonly (infer U)[]
    ? ProtoInput<U>[]
    : { [K in keyof T]?: ProtoInput<T[K]> };

/**
 * The schema of one protobuf message in a contract from {@link protoContract}: a receiver gets
 * `T` whole (every field present, as the proto codec decodes it); a sender may leave fields out.
 * It validates (Standard Schema) when the contract was given the .proto files.
 */
export interface ProtoMessageSchema<T> extends Schema<ProtoInput<T>, T> {
  /** The message's type name as the registry shows it (its Go name, `HelloRequest`). */
  readonly typeName?: string;
  /**
   * The message as go-micro's registry describes it (a `Value` tree, three levels deep, named
   * and typed as protoc-gen-go's struct is), when the contract was given the .proto files.
   */
  readonly registryValue?: Value;
}

/** The `stream` of the contract endpoint of a ts-proto method, from its two stream flags. */
export type StreamOf<M extends ProtoMethodDefinition> = M['requestStream'] extends true
  ? M['responseStream'] extends true
    ? { readonly stream: 'bidi' }
    : { readonly stream: 'client' }
  : M['responseStream'] extends true
    ? { readonly stream: 'server' }
    : { readonly stream?: undefined };

/** The contract endpoint of one ts-proto method. */
export type ProtoEndpoint<M extends ProtoMethodDefinition> = {
  readonly request: ProtoMessageSchema<MessageOf<M['requestType']>>;
  readonly response: ProtoMessageSchema<MessageOf<M['responseType']>>;
  readonly idempotent?: boolean;
} & StreamOf<M>;

/**
 * The handlers of a contract from a ts-proto service definition: one handler named after the
 * proto service, with a method per rpc under its .proto name (endpoint `Greeter.SayHello`, as
 * protoc-gen-micro registers it).
 */
export type ProtoHandlers<D extends ProtoServiceDefinition> = {
  readonly [S in D['name']]: {
    readonly [K in keyof D['methods'] as D['methods'][K]['name']]: ProtoEndpoint<D['methods'][K]>;
  };
};

/** The contract {@link protoContract} makes of a ts-proto service definition. */
export type ProtoContract<D extends ProtoServiceDefinition> = ServiceContract<ProtoHandlers<D>>;

/** Options for {@link protoContract}. */
export interface ProtoContractOptions {
  /**
   * The .proto file(s) the code was generated from (or their protobufjs Root), as the proto codec
   * is given them. With them, each message schema validates what it is given (and normalises it
   * to what the proto codec decodes), and carries its go-micro registry `Value`; without them,
   * the schemas carry only types.
   */
  protos?: ProtoSource;
  /**
   * Field names as written in the .proto (`user_id`), as given to the proto codec; generate with
   * ts-proto `snakeToCamel=false` then. Ignored for a given Root. @defaultValue false
   */
  keepCase?: boolean;
  /**
   * With `protos`: validate messages (set false to carry only types and registry values, when
   * only the proto codec, which decodes whole messages, reaches the service). @defaultValue true
   */
  validate?: boolean;
}

/**
 * A service contract from a `.proto` service, through the definition ts-proto generates for it
 * (`outputServices=generic-definitions`): `clientFor` makes its typed client (as
 * protoc-gen-micro's `NewGreeterService(name, client)`, another service name through its `name`
 * option), `implement` registers its handler (`RegisterGreeterHandler(server, impl)`), with
 * the request and response types of every rpc inferred from the generated interfaces.
 *
 * Messages cross the wire with the proto codec (`tsmicro/codec/proto`), given the same .proto:
 * generate with ts-proto's options `forceLong=string,stringEnums=true,useNullAsOptional=true` so
 * the generated interfaces are the codec's objects (see docs/contracts.md, "From .proto").
 * A method with `option idempotency_level = IDEMPOTENT` (or `NO_SIDE_EFFECTS`) is idempotent.
 *
 * Throws InvalidOptionError when the definition is malformed or the .proto files do not declare
 * what it names (the generated code and the .proto differ).
 *
 * @param name - the service name clients resolve and the server registers, e.g. `greeter`
 * @example
 * ```ts
 * import { GreeterDefinition } from './gen/helloworld.js';
 * export const Greeter = protoContract('greeter', GreeterDefinition, { protos: 'helloworld.proto' });
 * const greeter = clientFor(Greeter, service.client);
 * const reply = await greeter.Greeter.SayHello({ name: 'Ada' });
 * ```
 */
export function protoContract<const D extends ProtoServiceDefinition>(
  name: string,
  definition: D,
  opts: ProtoContractOptions = {},
): ProtoContract<D> {
  checkDefinition(definition);
  const keepCase = checkBoolean('protoContract.keepCase', opts.keepCase) ?? false;
  const validate = checkBoolean('protoContract.validate', opts.validate) ?? true;
  let service: protobuf.Service | undefined;
  let named: protobuf.Service | undefined;
  if (opts.protos !== undefined) {
    const root = loadRoot(opts.protos, keepCase, 'protoContract.protos');
    service = lookupService(root, definition.fullName);
    // go-micro names a registry value by the field's name as written in the .proto; camelCased
    // objects lose it, so the files are read a second time keeping it.
    named =
      keepCase || opts.protos instanceof protobuf.Root
        ? service
        : lookupService(loadRoot(opts.protos, true, 'protoContract.protos'), definition.fullName);
  }
  const methods: Record<string, EndpointDefinition> = {};
  for (const m of Object.values(definition.methods)) {
    const method = service?.methods[m.name];
    if (service && !method)
      throw new InvalidOptionError(
        'protoContract.protos',
        `${definition.fullName} has no rpc ${m.name} (the generated code and the .proto differ)`,
      );
    const namedMethod = named?.methods[m.name];
    const stream =
      m.requestStream && m.responseStream
        ? 'bidi'
        : m.requestStream
          ? 'client'
          : m.responseStream
            ? 'server'
            : undefined;
    const level: unknown =
      m.options?.idempotencyLevel ?? (method?.getOption('idempotency_level') as unknown);
    methods[m.name] = {
      request: messageSchema(
        m.requestType,
        method?.resolvedRequestType,
        namedMethod?.resolvedRequestType,
        validate,
      ),
      response: messageSchema(
        m.responseType,
        method?.resolvedResponseType,
        namedMethod?.resolvedResponseType,
        validate,
      ),
      ...(stream ? { stream } : {}),
      ...(level === 'IDEMPOTENT' || level === 'NO_SIDE_EFFECTS' ? { idempotent: true } : {}),
    };
  }
  return defineService(name, { [definition.name]: methods }) as unknown as ProtoContract<D>;
}

function messageSchema(
  fns: ProtoMessageFns,
  type: protobuf.Type | null | undefined,
  named: protobuf.Type | null | undefined,
  validate: boolean,
): Schema & { typeName?: string; registryValue?: Value } {
  if (type && fns.$type !== undefined && fns.$type !== type.fullName.slice(1))
    throw new InvalidOptionError(
      'protoContract.protos',
      `the generated code has ${fns.$type} where the .proto has ${type.fullName.slice(1)}`,
    );
  const registryValue = named ? messageValue(named) : undefined;
  const typeName = registryValue?.type ?? fns.$type?.slice(fns.$type.lastIndexOf('.') + 1);
  const props: StandardTypedV1.Props | StandardSchemaV1.Props =
    validate && type
      ? { version: 1, vendor: 'tsmicro', validate: (value: unknown) => checkMessage(type, value) }
      : { version: 1, vendor: 'tsmicro' };
  return {
    '~standard': props,
    ...(typeName !== undefined ? { typeName } : {}),
    ...(registryValue ? { registryValue } : {}),
  };
}

function checkDefinition(definition: unknown): asserts definition is ProtoServiceDefinition {
  const d = definition as Partial<ProtoServiceDefinition> | null | undefined;
  if (
    typeof d?.name !== 'string' ||
    typeof d.fullName !== 'string' ||
    typeof d.methods !== 'object' ||
    d.methods === null
  )
    throw new InvalidOptionError(
      'protoContract.definition',
      'expected a service definition generated by ts-proto with outputServices=generic-definitions',
    );
  for (const [key, m] of Object.entries(d.methods)) {
    if (
      typeof m?.name !== 'string' ||
      typeof m.requestStream !== 'boolean' ||
      typeof m.responseStream !== 'boolean' ||
      typeof m.requestType !== 'object' ||
      typeof m.responseType !== 'object'
    )
      throw new InvalidOptionError(
        `protoContract.definition.methods.${key}`,
        'expected { name, requestType, requestStream, responseType, responseStream }',
      );
  }
}

function lookupService(root: protobuf.Root, fullName: string): protobuf.Service {
  try {
    return root.lookupService(fullName);
  } catch {
    throw new InvalidOptionError(
      'protoContract.protos',
      `no service ${fullName} in the .proto files (the generated code and the .proto differ)`,
    );
  }
}
