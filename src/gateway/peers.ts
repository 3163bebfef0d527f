import { importPeers } from '../internal/optional-peer.js';

/**
 * The gateway's HTTP server: fastify and its CORS plug-in, and ws for the WebSocket streams, optional peers of tsmicro (a service
 * that never serves HTTP does not install them), loaded once for every gateway module.
 */
const peers = await importPeers('tsmicro/gateway', {
  fastify: () => import('fastify'),
  '@fastify/cors': () => import('@fastify/cors'),
  ws: () => import('ws'),
});

export const fastify = peers.fastify.fastify;
export const fastifyCors = peers['@fastify/cors'].fastifyCors;
export const WebSocketServer = peers.ws.WebSocketServer;
