import type { FastifyInstance, FastifyReply } from 'fastify';
import { MicroError } from '../errors.js';
import { clientError, fastifyError, GATEWAY_ERROR_ID } from './errors.js';
import type { ResolvedLimits } from './limits.js';
import { fastify } from './peers.js';

/**
 * The gateway's fastify instance, its limits applied where fastify and Node enforce them: body
 * size, URL length, the receive timeouts, keep-alive and the request head's size; and its body
 * parsing (JSON only).
 */
export function gatewayServer(
  limits: ResolvedLimits,
  trustProxy: boolean | readonly string[],
  fail: (reply: FastifyReply, err: unknown) => FastifyReply,
): FastifyInstance {
  const app = fastify({
    trustProxy: typeof trustProxy === 'boolean' ? trustProxy : [...trustProxy],
    logger: false,
    bodyLimit: limits.bodyBytes,
    // A path parameter may be as long as the URL may be (fastify's default cuts at 100 → 404).
    routerOptions: { maxParamLength: limits.urlLength },
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    forceCloseConnections: 'idle',
    http: {
      maxHeaderSize: limits.headerBytes,
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      // Node checks the two timeouts above on this interval (30 s by default, longer than they
      // are): a slow client is cut within about a second of its limit instead.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, limits.headersTimeoutMs / 2)),
    },
    return503OnClosing: true,
    clientErrorHandler: clientError,
    // Errors fastify raises before routing (a URL that does not decode), typed as every other.
    frameworkErrors: (err, _request, reply) => void fail(reply, fastifyError(err)),
  });
  // JSON only. An empty body is no body (`{}` for go-micro's routes), as curl -X POST sends it.
  // Refusing text/plain (415) also means a browser cannot reach a route cross-origin with a
  // "simple" request that skips the CORS preflight.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') done(null, undefined);
    else void parseJson(request, text, done);
  });
  app.addHook('onRequest', async (request) => {
    if (request.url.length > limits.urlLength)
      throw new MicroError(
        GATEWAY_ERROR_ID,
        414,
        `the URL is longer than the gateway's limit of ${limits.urlLength} characters`,
      );
  });
  return app;
}
