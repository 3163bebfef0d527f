import type https from 'node:https';
import { DEFAULTS } from '../../defaults.js';
import { InvalidOptionError, MicroError } from '../../errors.js';
import { checkBoolean, checkNumber, checkString, parseAddress } from '../../options.js';
import type {
  Node,
  RegisterOptions,
  Registry,
  Service,
  WatchOptions,
  Watcher,
} from '../registry.js';
import { ConsulAgents, statusOf } from './agent.js';
import { decodeVersion } from './encoding.js';
import { registration } from './registration.js';
import { toRecords, watchService } from './watch.js';
import { REGISTRY_ERROR_ID, checkRegistration, closedError } from '../errors.js';
import { groupRecords } from '../node-records.js';
import { failedWatcher } from '../watchers.js';

/** Options for {@link consulRegistry}. */
export interface ConsulRegistryOptions {
  /**
   * Agent address(es): `host:port`, `http://host:port` or `https://host:port`. With several,
   * the next is tried when one cannot be reached (registrations live on the agent that took
   * them, so deregistration goes to the same one while it answers).
   * @defaultValue `process.env.CONSUL_HTTP_ADDR`, else `127.0.0.1:8500`
   */
  address?: string | readonly string[];
  /** ACL token, sent as `X-Consul-Token`. @defaultValue `process.env.CONSUL_HTTP_TOKEN` */
  token?: string;
  /** Datacenter to query and register in. @defaultValue the agent's own */
  datacenter?: string;
  /**
   * TLS: `true` for https with the system CAs, or the options of an `https.Agent` (`ca`,
   * `cert`, `key`, `servername`, ...). Addresses given as `https://` use TLS anyway.
   * @defaultValue `process.env.CONSUL_HTTP_SSL === 'true'`
   */
  tls?: boolean | https.AgentOptions;
  /**
   * Lookups may be answered by any server, not only the leader (`?stale`): go-micro's default;
   * cheaper, and still served while the cluster has no leader. Watches always read consistently.
   * @defaultValue true
   */
  allowStale?: boolean;
  /**
   * Timeout of one non-blocking request to the agent, ms. @defaultValue
   * `DEFAULTS.consulRequestTimeoutMs` (10 000)
   */
  requestTimeoutMs?: number;
  /**
   * Longest a watch's blocking query waits for a change, ms. @defaultValue
   * `DEFAULTS.consulWatchWaitMs` (300 000)
   */
  watchWaitMs?: number;
  /** Name published in node metadata (`registry=<name>`). @defaultValue `'consul'` */
  name?: string;
}

/**
 * The Consul registry, written and read exactly as go-micro's (registry/consul): one agent
 * service per node with ID `<name>-<uuid>`, `t-`/`e-`/`v-` tags, `Meta`, and a TTL check
 * (deregistered by Consul after max(ttl, 1 min) + 5 s critical). A repeated registration of an
 * unchanged node only passes its TTL check, and registers in full again when the agent forgot
 * it. Lookups read the health endpoint and drop nodes with a critical check; a watch follows one
 * service through blocking queries.
 */
export function consulRegistry(opts: ConsulRegistryOptions = {}): Registry {
  const tlsOpt = opts.tls ?? (process.env.CONSUL_HTTP_SSL === 'true' ? true : undefined);
  if (
    tlsOpt !== undefined &&
    typeof tlsOpt !== 'boolean' &&
    (typeof tlsOpt !== 'object' || tlsOpt === null)
  ) {
    throw new InvalidOptionError('tls', 'expected true, false or https.AgentOptions');
  }
  const raw = opts.address ?? (process.env.CONSUL_HTTP_ADDR || '127.0.0.1:8500');
  const list = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw : undefined;
  if (!list || list.length === 0)
    throw new InvalidOptionError('address', 'expected an address or a non-empty list of addresses');
  const urls = list.map((a, i) =>
    toUrl(
      `address${typeof raw === 'string' ? '' : `[${i}]`}`,
      a,
      tlsOpt !== undefined && tlsOpt !== false,
    ),
  );
  const allowStale = checkBoolean('allowStale', opts.allowStale) ?? true;
  const requestTimeoutMs =
    checkNumber('requestTimeoutMs', opts.requestTimeoutMs, 1) ?? DEFAULTS.consulRequestTimeoutMs;
  const waitMs = checkNumber('watchWaitMs', opts.watchWaitMs, 1000) ?? DEFAULTS.consulWatchWaitMs;
  if (waitMs > 600_000)
    throw new InvalidOptionError(
      'watchWaitMs',
      `Consul caps blocking queries at 10 min, got ${waitMs}`,
    );
  const agents = new ConsulAgents({
    urls,
    token: checkString('token', opts.token) ?? (process.env.CONSUL_HTTP_TOKEN || undefined),
    datacenter: checkString('datacenter', opts.datacenter),
    tls: typeof tlsOpt === 'object' ? tlsOpt : undefined,
    requestTimeoutMs,
  });
  return new ConsulRegistry(checkString('name', opts.name) ?? 'consul', agents, allowStale, waitMs);
}

class ConsulRegistry implements Registry {
  /** node id → the registration last sent, so a repeat becomes a cheap TTL pass. */
  private readonly sent = new Map<string, string>();
  private readonly watchers = new Set<Watcher>();
  private closed = false;

  constructor(
    readonly name: string,
    private readonly agents: ConsulAgents,
    private readonly stale: boolean,
    private readonly waitMs: number,
  ) {}

  async register(service: Service, opts?: RegisterOptions): Promise<void> {
    if (this.closed) throw closedError();
    const ttl = checkRegistration(service, opts);
    for (const node of service.nodes) await this.registerNode(service, node, ttl);
  }

  async deregister(service: Service): Promise<void> {
    if (this.closed) throw closedError();
    checkRegistration(service);
    for (const node of service.nodes) {
      this.sent.delete(node.id);
      try {
        await this.agents.run('deregister', (c) =>
          c.agent.service.deregister(this.agents.opts({ id: node.id }) as { id: string }),
        );
      } catch (err) {
        if (statusOf((err as Error).cause) !== 404) throw err; // unknown to the agent: already gone
      }
    }
  }

  async getService(name: string): Promise<Service[]> {
    if (this.closed) throw closedError();
    if (name === '') return [];
    const { entries } = await this.agents.health(name, { stale: this.stale });
    return groupRecords(toRecords(name, entries).values());
  }

  async listServices(): Promise<Service[]> {
    if (this.closed) throw closedError();
    const byName = await this.agents.run(
      'list services',
      (c) =>
        c.catalog.service.list(this.agents.opts(this.stale ? { stale: true } : {})) as Promise<
          Record<string, string[] | null>
        >,
    );
    const out: Service[] = [];
    for (const [name, tags] of Object.entries(byName ?? {})) {
      // The catalog merges the tags of every instance: each version tag is one version.
      const versions = new Set(
        (tags ?? []).filter((t) => t[0] === 'v').map((t) => decodeVersion([t])),
      );
      if (versions.size === 0) versions.add('');
      for (const version of versions) out.push({ name, version, endpoints: [], nodes: [] });
    }
    return out;
  }

  watch(opts: WatchOptions = {}): Watcher {
    if (this.closed) return failedWatcher(closedError());
    if (opts.service === undefined) {
      // As go-micro v5: watching every service means a blocking query per service in the cluster.
      return failedWatcher(
        MicroError.badRequest(
          REGISTRY_ERROR_ID,
          'the consul registry watches one service at a time: pass { service }',
        ),
      );
    }
    const w: Watcher = watchService({
      agents: this.agents,
      service: opts.service,
      waitMs: this.waitMs,
      onStop: () => this.watchers.delete(w),
    });
    this.watchers.add(w);
    return w;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.watchers]) w.stop();
    this.agents.destroy();
  }

  private async registerNode(service: Service, node: Node, ttlMs: number): Promise<void> {
    const body = registration(service, node, ttlMs);
    const key = JSON.stringify(body);
    if (ttlMs > 0 && this.sent.get(node.id) === key) {
      try {
        await this.agents.run('pass TTL', (c) =>
          c.agent.check.pass(this.agents.opts({ id: `service:${node.id}` }) as { id: string }),
        );
        return;
      } catch {
        // The agent forgot us (restarted, or reaped the service): register in full below.
      }
    }
    this.sent.delete(node.id);
    await this.agents.run('register', (c) =>
      c.agent.service.register(this.agents.opts(body) as { name: string }),
    );
    this.sent.set(node.id, key);
  }
}

function toUrl(option: string, address: unknown, tls: boolean): string {
  if (typeof address !== 'string' || address === '')
    throw new InvalidOptionError(option, 'expected "host:port" or an http(s) URL');
  if (/^https?:\/\//.test(address)) {
    const u = new URL(address);
    return `${u.protocol}//${u.host}`;
  }
  // go-micro: a missing port is Consul's 8500.
  const withPort = parseAddress(address)
    ? address
    : `${address.includes(':') && !address.startsWith('[') ? `[${address}]` : address}:8500`;
  if (!parseAddress(withPort))
    throw new InvalidOptionError(
      option,
      `expected "host:port" or an http(s) URL, got ${JSON.stringify(address)}`,
    );
  return `${tls ? 'https' : 'http'}://${withPort}`;
}
