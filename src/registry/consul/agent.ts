import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type ConsulClient from 'consul';
import { MicroError } from '../../errors.js';
import { importPeers } from '../../internal/optional-peer.js';
import { REGISTRY_ERROR_ID } from '../errors.js';

const { default: Consul } = (
  await importPeers('tsmicro/registry/consul', { consul: () => import('consul') })
).consul;
type Consul = ConsulClient;

/**
 * The HTTP side of the Consul registry: one `consul` client per configured agent, failover to
 * the next agent when one cannot be reached, typed results, and every failure turned into a
 * MicroError (503 unreachable, 403 refused by ACL). Not exported from the package.
 */

/** One entry of `GET /v1/health/service/<name>`, the fields go-micro reads. */
export interface HealthEntry {
  Node: { Node: string; Address: string };
  Service: { ID: string; Service: string; Tags: string[] | null; Address: string; Port: number };
  Checks: { CheckID: string; Status: string }[] | null;
}

/** What {@link ConsulAgents} needs to connect. */
export interface AgentConfig {
  /** `http(s)://host:port` base URLs (without `/v1`), tried in order. */
  urls: readonly string[];
  token: string | undefined;
  datacenter: string | undefined;
  /** TLS settings for https agents (CA, client certificate). */
  tls: https.AgentOptions | undefined;
  /** Timeout of a non-blocking request, ms. */
  requestTimeoutMs: number;
}

/** A blocking read's answer: the entries and Consul's index for the next blocking read. */
export interface IndexedEntries {
  entries: HealthEntry[];
  index: string | undefined;
}

/** Options of one health read. */
export interface HealthReadOptions {
  stale: boolean;
  /** Blocking query: return when the index moves past this, or after `waitMs`. */
  index?: string;
  waitMs?: number;
  /** Aborts the request (a watcher's stop()). */
  signal?: AbortSignal;
}

export class ConsulAgents {
  private readonly clients: { url: string; consul: Consul; agent: http.Agent }[];
  private current = 0;

  constructor(private readonly cfg: AgentConfig) {
    this.clients = cfg.urls.map((url) => {
      const secure = url.startsWith('https:');
      // keepAlive as node-consul's default agent; ours so close() can destroy its sockets.
      const agent = secure
        ? new https.Agent({ keepAlive: true, ...cfg.tls })
        : new http.Agent({ keepAlive: true });
      const defaults: Record<string, string> = {};
      if (cfg.token !== undefined) defaults.token = cfg.token;
      if (cfg.datacenter !== undefined) defaults.dc = cfg.datacenter;
      return { url, agent, consul: new Consul({ ...baseOf(url), agent, defaults }) };
    });
  }

  /** Address of the agent in use (registrations live on it). */
  get url(): string {
    return this.clients[this.current].url;
  }

  /**
   * Runs `fn` on the agent in use; when it cannot be reached, on the next ones in turn. The
   * agent that answered stays in use. Failures become MicroErrors.
   */
  async run<T>(what: string, fn: (c: Consul) => Promise<T>): Promise<T> {
    let lastErr: unknown;
    for (let i = 0; i < this.clients.length; i++) {
      const idx = (this.current + i) % this.clients.length;
      try {
        const out = await fn(this.clients[idx].consul);
        this.current = idx;
        return out;
      } catch (err) {
        lastErr = err;
        if (statusOf(err) !== undefined || isAbort(err)) break; // the agent answered (or we gave up): no failover
      }
    }
    throw toMicroError(what, this.url, lastErr);
  }

  /** Common request options: token and datacenter come from the client defaults. */
  opts(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { timeout: this.cfg.requestTimeoutMs, ...extra };
  }

  /** `GET /v1/health/service/<name>`, blocking when `index` is given. */
  async health(name: string, o: HealthReadOptions): Promise<IndexedEntries> {
    const ctx = new EventEmitter() as EventEmitter & { includeResponse: boolean };
    ctx.includeResponse = true; // node-consul then resolves with [response, body]: we need X-Consul-Index
    const onAbort = (): void => {
      ctx.emit('cancel');
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const req: Record<string, unknown> = { service: name, ctx, timeout: this.cfg.requestTimeoutMs };
    if (o.stale) req.stale = true;
    if (o.index !== undefined) {
      req.index = o.index;
      req.wait = `${Math.ceil((o.waitMs ?? 0) / 1000)}s`;
      // Consul adds up to wait/16 of jitter; the request must outlive the wait, or every quiet
      // watch would fail as a timeout (hashicorp/consul#6118).
      req.timeout = (o.waitMs ?? 0) * 1.1 + this.cfg.requestTimeoutMs;
    }
    try {
      const [res, body] = (await this.run(
        `health ${name}`,
        (c) => c.health.service(req as { service: string }) as Promise<unknown>,
      )) as [http.IncomingMessage, unknown];
      const raw = res.headers['x-consul-index'];
      return {
        entries: Array.isArray(body) ? (body as HealthEntry[]) : [],
        index: typeof raw === 'string' ? raw : undefined,
      };
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Closes every kept-alive connection. */
  destroy(): void {
    for (const c of this.clients) {
      c.consul.destroy();
      c.agent.destroy();
    }
  }
}

/** The HTTP status Consul answered with, if it answered. */
export function statusOf(err: unknown): number | undefined {
  const res = (err as { response?: { statusCode?: unknown } } | null)?.response;
  return typeof res?.statusCode === 'number' ? res.statusCode : undefined;
}

function isAbort(err: unknown): boolean {
  return (
    (err as { message?: unknown } | null)?.message === 'aborted' ||
    (err as { name?: unknown } | null)?.name === 'AbortError'
  );
}

function toMicroError(what: string, url: string, err: unknown): MicroError {
  if (MicroError.is(err)) return err;
  const status = statusOf(err);
  const text = (err as Error | undefined)?.message ?? String(err);
  if (status === 403)
    return new MicroError(
      REGISTRY_ERROR_ID,
      403,
      `consul ${what}: refused by ACL at ${url}: ${text}`,
      undefined,
      { cause: err },
    );
  const detail =
    status === undefined
      ? `consul ${what}: agent ${url} unreachable: ${text}`
      : `consul ${what}: agent ${url} answered ${status}: ${text}`;
  return new MicroError(REGISTRY_ERROR_ID, 503, detail, undefined, { cause: err });
}

function baseOf(url: string): { host: string; port: number; secure: boolean } {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  return { host: u.hostname, port: Number(u.port || (secure ? 443 : 8500)), secure };
}
