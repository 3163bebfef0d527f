import type { Etcd3 as Etcd3Client, IOptions, Lease } from 'etcd3';
import { DEFAULTS } from '../../defaults.js';
import { InvalidOptionError, MicroError } from '../../errors.js';
import { importPeers } from '../../internal/optional-peer.js';
import { checkNumber, checkString, isList } from '../../options.js';
import type {
  Node,
  RegisterOptions,
  Registry,
  Service,
  WatchOptions,
  Watcher,
} from '../registry.js';
import { watchPrefix } from './watch.js';
import { parseEntry, serviceKey, servicePrefix } from './entry.js';
import { REGISTRY_ERROR_ID, checkRegistration, closedError } from '../errors.js';
import { groupRecords, recordKey, type RecordMap } from '../node-records.js';
import { failedWatcher } from '../watchers.js';

const { Etcd3 } = (await importPeers('tsmicro/registry/etcd', { etcd3: () => import('etcd3') }))
  .etcd3;
type Etcd3 = Etcd3Client;

/** Options for {@link etcdRegistry}. */
export interface EtcdRegistryOptions {
  /**
   * Cluster endpoints, `http(s)://host:port`; the client spreads calls over them and fails over.
   * @defaultValue `process.env.ETCD_ENDPOINTS` (comma-separated), else `http://127.0.0.1:2379`
   */
  endpoints?: string | readonly string[];
  /** Username and password, when the cluster has auth enabled. */
  auth?: { username: string; password: string };
  /**
   * TLS material for `https://` endpoints (PEM buffers): the CA, and a client certificate when the
   * cluster asks for one.
   */
  tls?: { rootCertificate: Buffer; privateKey?: Buffer; certChain?: Buffer };
  /** Key prefix of the entries; go-micro peers use the same. @defaultValue `'/micro/registry/'` */
  prefix?: string;
  /**
   * Timeout of one request (and of connecting), ms. @defaultValue `DEFAULTS.etcdRequestTimeoutMs`
   * (10 000)
   */
  requestTimeoutMs?: number;
  /** Name published in node metadata (`registry=<name>`). @defaultValue `'etcd'` */
  name?: string;
}

/**
 * The etcd registry (go-micro's layout): one key per node, `<prefix><service>/<node id>`, whose
 * value is the service JSON holding that node alone, attached to a lease of the registration TTL.
 * A repeated registration of an unchanged node only keeps its lease alive, and writes it again
 * under a new lease when the lease is gone (expired, or the cluster lost it). Watches follow the
 * key prefix from the revision of their first read, so no change in between is missed.
 */
export function etcdRegistry(opts: EtcdRegistryOptions = {}): Registry {
  const raw = opts.endpoints ?? (process.env.ETCD_ENDPOINTS || 'http://127.0.0.1:2379');
  const hosts = (typeof raw === 'string' ? raw.split(',') : isList(raw) ? [...raw] : [])
    .map((h) => String(h).trim())
    .filter(Boolean);
  if (hosts.length === 0)
    throw new InvalidOptionError(
      'endpoints',
      'expected an endpoint or a non-empty list of endpoints',
    );
  for (const h of hosts) {
    if (!/^https?:\/\/[^/]+$/.test(h))
      throw new InvalidOptionError(
        'endpoints',
        `expected http(s)://host:port, got ${JSON.stringify(h)}`,
      );
  }
  const prefix = checkString('prefix', opts.prefix) ?? DEFAULTS.etcdPrefix;
  if (!prefix.endsWith('/'))
    throw new InvalidOptionError('prefix', `must end with "/", got ${JSON.stringify(prefix)}`);
  const timeoutMs =
    checkNumber('requestTimeoutMs', opts.requestTimeoutMs, 1) ?? DEFAULTS.etcdRequestTimeoutMs;
  const options: IOptions = {
    hosts,
    dialTimeout: timeoutMs,
    // Streams (watch, keep-alive) live on; every other call gets a deadline, so nothing hangs.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeoutMs }),
  };
  if (opts.auth)
    options.auth = {
      username: checkString('auth.username', opts.auth.username)!,
      password: String(opts.auth.password),
    };
  if (opts.tls) options.credentials = opts.tls;
  return new EtcdRegistry(checkString('name', opts.name) ?? 'etcd', new Etcd3(options), prefix);
}

interface Held {
  lease: Lease;
  /** The value written, so an unchanged re-registration only renews the lease. */
  value: string;
}

class EtcdRegistry implements Registry {
  private readonly held = new Map<string, Held>();
  private readonly watchers = new Set<Watcher>();
  private closed = false;

  constructor(
    readonly name: string,
    private readonly client: Etcd3,
    private readonly prefix: string,
  ) {}

  async register(service: Service, opts?: RegisterOptions): Promise<void> {
    if (this.closed) throw closedError();
    const ttl = checkRegistration(service, opts);
    for (const node of service.nodes)
      await io('register', () => this.registerNode(service, node, ttl));
  }

  async deregister(service: Service): Promise<void> {
    if (this.closed) throw closedError();
    checkRegistration(service);
    for (const node of service.nodes) {
      const held = this.held.get(recordKey(service.name, node.id));
      this.held.delete(recordKey(service.name, node.id));
      await io('deregister', () =>
        this.client
          .delete()
          .key(serviceKey(this.prefix, service.name, node.id))
          .exec(),
      );
      // Revoking frees the lease now rather than at its TTL; a failure only delays that.
      await held?.lease.revoke().catch(() => {});
    }
  }

  async getService(name: string): Promise<Service[]> {
    if (this.closed) throw closedError();
    if (name === '') return [];
    const values = await io('getService', () =>
      this.client.getAll().prefix(servicePrefix(this.prefix, name)).strings(),
    );
    const records: RecordMap = new Map();
    for (const [key, value] of Object.entries(values)) {
      const r = parseEntry(value);
      if (r && r.service.name === name) records.set(key, r);
    }
    return groupRecords(records.values());
  }

  async listServices(): Promise<Service[]> {
    if (this.closed) throw closedError();
    const values = await io('listServices', () =>
      this.client.getAll().prefix(this.prefix).strings(),
    );
    const seen = new Map<string, Service>();
    for (const value of Object.values(values)) {
      const r = parseEntry(value);
      if (r) seen.set(recordKey(r.service.name, r.service.version), { ...r.service, nodes: [] });
    }
    return [...seen.values()];
  }

  watch(opts: WatchOptions = {}): Watcher {
    if (this.closed) return failedWatcher(closedError());
    const prefix =
      opts.service === undefined ? this.prefix : servicePrefix(this.prefix, opts.service);
    const w: Watcher = watchPrefix({
      client: this.client,
      prefix,
      service: opts.service,
      toError: (what, err) => unavailable(what, err),
      onStop: () => this.watchers.delete(w),
    });
    this.watchers.add(w);
    return w;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.watchers]) w.stop();
    for (const h of this.held.values()) h.lease.release();
    this.held.clear();
    this.client.close();
  }

  private async registerNode(service: Service, node: Node, ttlMs: number): Promise<void> {
    const key = serviceKey(this.prefix, service.name, node.id);
    const value = JSON.stringify({
      name: service.name,
      version: service.version,
      metadata: service.metadata ?? {},
      endpoints: service.endpoints ?? [],
      nodes: [node],
    });
    const id = recordKey(service.name, node.id);
    const held = this.held.get(id);
    if (ttlMs === 0) {
      await this.client.put(key).value(value).exec();
      return;
    }
    if (held && held.value === value) {
      try {
        const res = await held.lease.keepaliveOnce();
        // A lease etcd no longer knows answers with TTL 0 (or ≤ 0) instead of an error.
        if (Number(res.TTL) > 0) return;
      } catch {
        // The lease or the cluster forgot us: write again under a new lease below.
      }
    }
    held?.lease.release();
    this.held.delete(id);
    // etcd leases count whole seconds; never shorter than asked.
    const lease = this.client.lease(Math.max(1, Math.ceil(ttlMs / 1000)), { autoKeepAlive: false });
    lease.on('lost', () => {}); // an expired lease is found by the next beat; no unhandled 'error'
    try {
      await lease.grant();
      await lease.put(key).value(value).exec();
    } catch (err) {
      lease.release();
      throw err;
    }
    this.held.set(id, { lease, value });
  }
}

async function io<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw unavailable(what, err);
  }
}

function unavailable(what: string, err: unknown): MicroError {
  if (MicroError.is(err)) return err;
  return new MicroError(
    REGISTRY_ERROR_ID,
    503,
    `etcd ${what}: ${(err as Error)?.message ?? String(err)}`,
    undefined,
    { cause: err },
  );
}
