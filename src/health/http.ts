import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { joinHostPort } from '../options.js';
import { listenAddress } from '../transport/listen-address.js';
import type { HealthModel } from './health.js';

/** The HTTP surface while it listens. */
export interface HealthHttpListener {
  /** The bound `host:port` (the real port when asked for port 0). */
  readonly address: string;
  /** Stops listening and closes every connection, idle keep-alive ones included. */
  close(): Promise<void>;
}

/**
 * Serves `health` over HTTP on `address`, for Kubernetes httpGet probes and load balancers:
 *
 * - `GET /health/live` — 200 `{"status":"up"}` while the process serves, else 503;
 * - `GET /health/ready` and `GET /health` — 200 while ready, else 503, with the
 *   {@link HealthReport} naming each check (go-micro's health package answers the same paths with
 *   the same shape).
 *
 * Answers come from the last run of each check, never from running them per request, so probes
 * cost the dependencies nothing. Three fixed routes need no framework: node:http it is.
 */
export async function listenHealthHttp(
  address: string,
  health: HealthModel,
): Promise<HealthHttpListener> {
  const parsed = listenAddress(address);
  const server = createServer((req, res) => answer(req, res, health));
  // Probes are short-lived; an idle keep-alive connection must not hold a stop.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(parsed.port, parsed.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : parsed.port;
  return {
    address: joinHostPort(parsed.host, port),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function answer(req: IncomingMessage, res: ServerResponse, health: HealthModel): void {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (path !== '/health' && path !== '/health/ready' && path !== '/health/live') {
    send(res, req, 404, { status: 'down', error: `no route ${path}` });
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    send(res, req, 405, { status: 'down', error: `method ${req.method} not allowed` });
    return;
  }
  if (path === '/health/live') {
    const live = health.live;
    send(res, req, live ? 200 : 503, { status: live ? 'up' : 'down' });
    return;
  }
  const report = health.report();
  send(res, req, report.status === 'up' ? 200 : 503, report);
}

function send(res: ServerResponse, req: IncomingMessage, code: number, body: object): void {
  const json = JSON.stringify(body);
  res.writeHead(code, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(json),
    'cache-control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : json);
}
