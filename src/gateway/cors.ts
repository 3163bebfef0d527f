import type { FastifyCorsOptions } from '@fastify/cors';
import type { CorsPolicy } from './options.js';

/**
 * The `@fastify/cors` options of a route's {@link CorsPolicy}, or `{ origin: false }` (no CORS
 * headers at all, so a browser refuses the cross-origin read) when the route has none. An origin
 * not in the list gets no `Access-Control-Allow-Origin`, which is how a browser learns it is
 * refused; the request itself is still answered, as CORS leaves the refusing to the browser.
 */
export function corsOptions(policy: CorsPolicy | false, method: string): FastifyCorsOptions {
  if (policy === false) return { origin: false };
  return {
    origin:
      policy.origins === '*' || policy.origins === true ? policy.origins : [...policy.origins],
    methods: policy.methods ? [...policy.methods] : [method],
    ...(policy.headers ? { allowedHeaders: [...policy.headers] } : {}),
    ...(policy.exposedHeaders ? { exposedHeaders: [...policy.exposedHeaders] } : {}),
    credentials: policy.credentials ?? false,
    ...(policy.maxAgeSec !== undefined ? { maxAge: policy.maxAgeSec } : {}),
    // A preflight for a route without CORS is not answered as one (see the OPTIONS twin).
    strictPreflight: true,
  };
}
