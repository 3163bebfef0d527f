import protobuf from 'protobufjs';
import { InvalidOptionError } from '../errors.js';
import type { Codec, CodecHint } from './codec.js';
import { loadRoot, PLAIN_OBJECTS, type ProtoSource } from './proto-root.js';

export type { ProtoSource } from './proto-root.js';

/** Request and response message types of one endpoint, fully qualified (`pkg.HelloRequest`). */
export interface EndpointTypes {
  request: string;
  response: string;
}

/** Options for {@link protoCodec}. */
export interface ProtoCodecOptions {
  /** `.proto` file path(s), loaded with their imports, or a protobufjs `Root` already built. */
  protos: ProtoSource;
  /**
   * Keep field names as written in the .proto (`user_id`) instead of camelCase (`userId`) in the
   * objects handlers and callers see. Ignored for a given `Root`. @defaultValue false (as
   * @grpc/proto-loader)
   */
  keepCase?: boolean;
  /**
   * Types for endpoints the files do not declare as a service method, by `Handler.Method`.
   * Service methods need no entry: `Greeter.SayHello` resolves to the `SayHello` method of the
   * service named `Greeter`, in whatever package (as go-micro dispatches on the last segment).
   */
  endpoints?: Readonly<Record<string, EndpointTypes>>;
  /** Message type of each broker topic published or subscribed with this codec. */
  events?: Readonly<Record<string, string>>;
}

/**
 * Protobuf bodies on protobufjs (`application/grpc+proto`, and plain `application/grpc`, which
 * every gRPC client sends): what a go-micro service or any gRPC client with the same .proto
 * speaks. Messages are plain objects: 64-bit integers as decimal strings and enums as names (as
 * in proto3 JSON), bytes as Buffers, every field present with its default.
 *
 * Encoding follows protobufjs `fromObject` (values are converted to the field types, unknown
 * keys dropped); decoding throws on truncated or malformed bytes, which a server answers with 400.
 */
export function protoCodec(opts: ProtoCodecOptions): Codec {
  if (typeof opts !== 'object' || opts === null)
    throw new InvalidOptionError('protoCodec', 'expected options with `protos`');
  const root = loadRoot(opts.protos, opts.keepCase ?? false, 'protos');
  const byEndpoint = new Map<string, { request: protobuf.Type; response: protobuf.Type }>();
  collectServices(root, byEndpoint);
  for (const [endpoint, t] of Object.entries(opts.endpoints ?? {})) {
    byEndpoint.set(endpoint, {
      request: lookup(root, t.request, `endpoints.${endpoint}.request`),
      response: lookup(root, t.response, `endpoints.${endpoint}.response`),
    });
  }
  const byTopic = new Map<string, protobuf.Type>();
  for (const [topic, name] of Object.entries(opts.events ?? {}))
    byTopic.set(topic, lookup(root, name, `events.${topic}`));

  function typeFor(hint: CodecHint | undefined): protobuf.Type {
    if (!hint) throw new Error('the proto codec needs to know the endpoint or topic of a message');
    const t =
      hint.kind === 'event'
        ? byTopic.get(hint.endpoint)
        : byEndpoint.get(hint.endpoint)?.[hint.kind];
    if (!t)
      throw new Error(
        `no protobuf ${hint.kind} type for ${hint.endpoint} (not a service method in the loaded .proto files, nor in \`${hint.kind === 'event' ? 'events' : 'endpoints'}\`)`,
      );
    return t;
  }

  return {
    name: 'proto',
    contentType: 'application/grpc+proto',
    encode(value, hint) {
      const type = typeFor(hint);
      if (typeof value !== 'object' || value === null)
        throw new Error(
          `${type.fullName.slice(1)} expects an object, got ${value === null ? 'null' : typeof value}`,
        );
      return type.encode(type.fromObject(value)).finish();
    },
    decode(bytes, hint) {
      const type = typeFor(hint);
      return type.toObject(type.decode(bytes), PLAIN_OBJECTS);
    },
  };
}

/**
 * Every method of every service in `ns`, as `Service.Method`; the first of a repeated name wins.
 */
function collectServices(
  ns: protobuf.NamespaceBase,
  out: Map<string, { request: protobuf.Type; response: protobuf.Type }>,
): void {
  for (const obj of ns.nestedArray) {
    if (obj instanceof protobuf.Service) {
      for (const m of obj.methodsArray) {
        const key = `${obj.name}.${m.name}`;
        if (!out.has(key))
          out.set(key, { request: m.resolvedRequestType!, response: m.resolvedResponseType! });
      }
    } else if (obj instanceof protobuf.Namespace) {
      collectServices(obj, out);
    }
  }
}

function lookup(root: protobuf.Root, name: string, option: string): protobuf.Type {
  try {
    return root.lookupType(name);
  } catch {
    throw new InvalidOptionError(
      option,
      `no message type ${JSON.stringify(name)} in the loaded .proto files`,
    );
  }
}
