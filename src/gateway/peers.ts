import { importPeers } from '../internal/optional-peer.js';

/**
 * The gateway's HTTP server: fastify and its CORS plug-in, optional peers of tsmicro (a service
 * that never serves HTTP does not install them), loaded once for every gateway module.
 */
const peers = await importPeers('tsmicro/gateway', {
  fastify: () => import('fastify'),
  '@fastify/cors': () => import('@fastify/cors'),
});

export const fastify = peers.fastify.fastify;
export const fastifyCors = peers['@fastify/cors'].fastifyCors;
