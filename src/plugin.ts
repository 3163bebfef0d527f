/**
 * `tsmicro/plugin`: the contract for writing a Registry, Selector, Transport, Codec or Broker —
 * what a plug-in implements and what tsmicro hands it, beyond what an application writes (that
 * is the root export, `tsmicro`).
 *
 * The five interfaces themselves are here too, so a plug-in needs one import; they stay in the
 * root as well, since an application names them when it passes or stores a plug-in.
 *
 * - **Registry**: implement {@link Registry}; `watch()` returns a {@link Watcher} of
 *   {@link WatchEvent}s. Entries are go-micro's data model ({@link RegistryService},
 *   {@link Node}, {@link Endpoint}, {@link Value}) so Go peers read them from a shared registry.
 * - **Selector**: implement {@link Selector}, or keep the default one and write a
 *   {@link Strategy} (`(nodes, stats) => Next`) reading {@link NodeStatsView}.
 * - **Transport**: implement {@link Transport}. A server hands `listen()` a {@link Dispatcher};
 *   requests arrive as an {@link InboundHead} plus body bytes, streams as a {@link FrameStream}.
 *   Errors are `MicroError`s (root export) on both ends; a failure the transport observed
 *   itself carries a {@link TransportFault}, which is what retries and node health decide from.
 *   {@link grpcStatusFromCode} / {@link codeFromGrpcStatus} map codes the way go-micro's gRPC
 *   plug-ins do.
 * - **Codec**: implement {@link Codec}; a schema-driven codec picks its message type from the
 *   {@link CodecHint}.
 * - **Broker**: implement {@link Broker}. To interoperate with go-micro subscribers put
 *   {@link encodeEnvelope}'s bytes on the wire and read with {@link decodeEnvelope}.
 * - **Call wrappers** see each attempt's {@link ResolvedCallOptions}.
 *
 * Like the rest of tsmicro 0.x, this contract may change between minor versions.
 *
 * @packageDocumentation
 */

export type {
  Registry,
  Service as RegistryService,
  Node,
  Endpoint,
  Value,
  RegisterOptions,
  WatchAction,
  WatchEvent,
  WatchOptions,
  Watcher,
} from './registry/registry.js';

export type {
  Selector,
  SelectOptions,
  Next,
  PickOptions,
  Strategy,
  Filter,
  NodeStat,
  NodeStatsView,
} from './selector/selector.js';

export type {
  Transport,
  Listener,
  Connection,
  Dispatcher,
  UnaryCall,
  SignalSource,
  FrameStream,
  RequestHead,
  InboundHead,
  EndpointKind,
  ListenOptions,
  ServingStatus,
  ServingStatusSource,
} from './transport/transport.js';
export type { TransportFault, MicroErrorOptions } from './errors.js';
export { grpcStatusFromCode, codeFromGrpcStatus, statusText } from './errors.js';

export type { Codec, CodecHint } from './codec/codec.js';

export type {
  Broker,
  BrokerMessage,
  BrokerHandler,
  SubscribeOptions,
  Subscription,
} from './broker/broker.js';
export { encodeEnvelope, decodeEnvelope, MalformedEnvelopeError } from './broker/envelope.js';

export type { ResolvedCallOptions } from './client/client.js';
