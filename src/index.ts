/**
 * tsmicro: go-micro for Node. What an application writes: services, clients, servers, handlers,
 * wrappers, errors, and the default plug-ins with their options. Everything is re-exported from
 * the files that define it.
 *
 * The plug-in interfaces (`Registry`, `Selector`, `Transport`, `Codec`, `Broker`) are here because
 * an application passes and stores plug-ins; what only a plug-in's author needs to implement one
 * (a transport's `Dispatcher`, a registry's `Watcher`, ...) is in `tsmicro/plugin`. Plug-ins with
 * their own packages (Consul, etcd, NATS, protobuf, the wrappers) are subpath imports.
 */
export { createService } from './service.js';
export type { Service, ServiceOptions, Hook } from './service.js';

export { readConfig } from './config/read.js';
export type { Config, ConfigSources, ConfigValues } from './config/read.js';
export {
  SETTINGS,
  REGISTRY_CHOICES,
  BROKER_CHOICES,
  TRANSPORT_CHOICES,
  PROFILE_CHOICES,
} from './config/settings.js';
export type {
  Setting,
  SettingKind,
  RegistryChoice,
  BrokerChoice,
  TransportChoice,
  ProfileChoice,
} from './config/settings.js';
export { settingsHelp } from './config/help.js';
export { parseGoDuration } from './config/values.js';
export { registryFromConfig, brokerFromConfig, transportFromConfig } from './config/components.js';

export { MicroError, InvalidOptionError, CLIENT_ERROR_ID, SERVER_ERROR_ID } from './errors.js';
export type { MicroErrorJSON, MicroErrorOptions } from './errors.js';

export { currentContext, remaining } from './context.js';
export type { Context, HandlerContext } from './context.js';
export type { Metadata } from './metadata.js';
export type { Logger } from './logger.js';
export { DEFAULTS } from './defaults.js';

export { createClient } from './client/rpc-client.js';
export type { ClientOptions } from './client/rpc-client.js';
export type {
  Client,
  CallOptions,
  PublishOptions,
  Request,
  CallFunc,
  CallWrapper,
  ClientWrapper,
  ClientStream,
} from './client/client.js';

export { createServer } from './server/rpc-server.js';
export type { ServerOptions } from './server/rpc-server.js';
export { streaming } from './server/server.js';
export type {
  Server,
  UnaryHandler,
  StreamHandler,
  ServerStream,
  HandlerMethods,
  HandleOptions,
  ServerRequest,
  HandlerFunc,
  HandlerWrapper,
  Subscriber,
  SubscriberContext,
  ServerMessage,
  SubscriberFunc,
  SubscriberWrapper,
  ServerSubscribeOptions,
  EndpointTypes,
  SubscriberTypes,
} from './server/server.js';

export type { Health } from './health/health.js';
export type { HealthCheck } from './health/check.js';
export type { HealthOptions } from './health/options.js';
export type { BuiltinCheckOptions } from './health/builtin.js';
export type { HealthReport, HealthCheckReport, HealthStatus } from './health/report.js';

export type { Registry, Service as RegistryService, Node } from './registry/registry.js';
export {
  endpointSchemas,
  REQUEST_SCHEMA_KEY,
  RESPONSE_SCHEMA_KEY,
} from './registry/endpoint-schemas.js';
export type { EndpointSchemas, JsonSchema } from './registry/endpoint-schemas.js';
export { memoryRegistry } from './registry/memory.js';
export { localRegistry } from './registry/local.js';
export type { LocalRegistryOptions } from './registry/local.js';

export type { Selector, Filter } from './selector/selector.js';
export { registrySelector } from './selector/registry-selector.js';
export type {
  RegistrySelectorOptions,
  EjectionOptions,
  EjectionEvent,
} from './selector/registry-selector.js';
export { random, roundRobin, leastRequest, weighted } from './selector/strategy.js';
export type { StrategyName } from './selector/strategy.js';
export { byVersion, byMetadata, byEndpoint, canary } from './selector/filter.js';
export type { RetryBudgetOptions } from './client/retry.js';
export type {
  HedgeOptions,
  AdaptiveTimeoutOptions,
  LatencyWindowOptions,
  HedgeEvent,
  ResolvedHedge,
  ResolvedAdaptiveTimeout,
} from './client/tail-options.js';
export type { LatencyPercentile } from './client/latency-window.js';

export type { Transport } from './transport/transport.js';
export { grpcTransport } from './transport/grpc/grpc.js';
export type { GrpcTransportOptions, Pem, TlsOptions } from './transport/grpc/grpc.js';
export { memoryTransport } from './transport/memory.js';
export { nativeTransport } from './transport/native/native.js';
export type { NativeTransportOptions } from './transport/native/native.js';
export { mucpTransport } from './transport/mucp/mucp.js';
export type { MucpTransportOptions } from './transport/mucp/mucp.js';
export { dualPathTransport } from './transport/dual-path.js';
export type { DualPathOptions } from './transport/dual-path.js';

export type { Codec } from './codec/codec.js';
export { jsonCodec } from './codec/json.js';
export { bytesCodec } from './codec/bytes.js';

export type { Broker } from './broker/broker.js';
export { memoryBroker } from './broker/memory.js';
export type { MemoryBrokerOptions } from './broker/memory.js';
export { httpBroker } from './broker/http/http.js';
export type { HttpBroker, HttpBrokerOptions, HttpBrokerStats } from './broker/http/http.js';

export { defineService, defineTopic } from './contract/define.js';
export type {
  ServiceContract,
  TopicContract,
  EndpointDefinition,
  HandlerDefinitions,
  StreamKind,
  HttpRoute,
  HttpMethod,
} from './contract/define.js';
export { ofType } from './contract/schema.js';
export type { Schema, TypeOnly, InputOf, OutputOf, RegistryDescribed } from './contract/schema.js';
export { valueFromJsonSchema } from './contract/registry-value.js';
export { clientFor, publisherFor } from './contract/client.js';
export type {
  ClientForOptions,
  PublisherForOptions,
  ContractClient,
  EndpointClient,
  ResponseStream,
  RequestStream,
  TopicPublisher,
} from './contract/client.js';
export { implement, subscribeTo } from './contract/implement.js';
export type {
  ImplementOptions,
  ContractHandlers,
  EndpointHandler,
  ResponseSender,
  TopicSubscriber,
  HandlerTarget,
} from './contract/implement.js';
