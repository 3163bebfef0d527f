/**
 * tsmicro/gateway: an HTTP API gateway in front of tsmicro (and go-micro) services, on fastify.
 * fastify, @fastify/cors and ws are optional peers: `npm install fastify @fastify/cors ws`.
 */
export { createGateway } from './gateway.js';
export type { Gateway } from './gateway.js';
export type {
  GatewayOptions,
  GatewayLimits,
  GatewayRequestInfo,
  RoutePolicy,
  CorsPolicy,
  RateLimitPolicy,
  AuthorizeHook,
  RouteTarget,
} from './options.js';
export { GATEWAY_ERROR_ID } from './errors.js';
export { GATEWAY_LIMIT_DEFAULTS } from './limits.js';
export { TIMEOUT_HEADERS, DEFAULT_FORWARD_HEADERS, DEFAULT_FORWARD_PREFIXES } from './headers.js';
