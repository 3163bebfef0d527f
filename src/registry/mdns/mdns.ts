import { hostname } from 'node:os';
import { isIPv4 } from 'node:net';
import type { RemoteInfo } from 'node:dgram';
import type mDNS from 'multicast-dns';
import { MDNS_DEFAULTS } from '../../defaults.js';
import { MicroError } from '../../errors.js';
import { defaultLogger, type Logger } from '../../logger.js';
import { checkComponent, checkNumber, checkRegistryName, checkString } from '../../options.js';
import { InvalidOptionError } from '../../errors.js';
import type { AsyncQueue } from '../../internal/async-queue.js';
import type {
  RegisterOptions,
  Registry,
  Service,
  WatchEvent,
  WatchOptions,
  Watcher,
} from '../registry.js';
import { REGISTRY_ERROR_ID, checkRegistration, closedError } from '../errors.js';
import { diffRecords, groupRecords, toRecords, type NodeRecord } from '../node-records.js';
import { createWatcher, watchedBy } from '../watchers.js';
import {
  Names,
  instanceAnswers,
  listAnswers,
  localNode,
  readResponse,
  serviceAnswers,
  type Answer,
  type LocalNode,
  type Question,
} from './records.js';
import { openSockets, type Sockets } from './sockets.js';
import { WarnLimiter } from './warn-limiter.js';

/** Options for {@link mdnsRegistry}. */
export interface MdnsRegistryOptions {
  /**
   * The domain names live under: `<node id>.<service>.<domain>.`. go-micro's is `micro`; both
   * sides must use the same. @defaultValue `'micro'`
   */
  domain?: string;
  /**
   * IPv4 address of the network interface to use: the group is joined there and queries and
   * announcements leave from it. @defaultValue every interface with an IPv4 address joins; sends
   * follow the routing table
   */
  interface?: string;
  /**
   * TTL of the records of a registration that gives none (`register(s, {ttlMs})` otherwise), ms;
   * rounded up to whole seconds. @defaultValue 120 000 (go-micro's)
   */
  ttlMs?: number;
  /** How long `getService`/`listServices` collect answers, ms. @defaultValue 300 */
  queryTimeoutMs?: number;
  /**
   * UDP port of the group. Only for tests and private setups: go-micro and every other mDNS
   * speaker use 5353. @defaultValue 5353
   */
  port?: number;
  /** Where skipped packets and records are reported (one line per kind per minute). */
  logger?: Logger;
}

/**
 * The mDNS registry, wire-compatible with go-micro's default registry (registry/mdns_registry.go
 * in go-micro v5): no server, nodes on one LAN find each other by multicast DNS (224.0.0.251:5353,
 * IPv4). Each node is announced when registered (twice, a second apart) and answers queries for
 * its service, its instance and the service list; deregistering sends go-micro's goodbye (the
 * same records with TTL 0). `getService` and `listServices` ask the network and return what
 * answered within `queryTimeoutMs` (as go-micro does), so a node that died is no longer found.
 * Watchers see announcements, answers and goodbyes, and a delete when a node's TTL runs out after
 * it failed to answer a re-query at 80 % of it. Malformed packets and records are skipped, with a
 * rate-limited warning.
 */
export function mdnsRegistry(opts: MdnsRegistryOptions = {}): Registry {
  const domain = checkRegistryName('domain', opts.domain) ?? MDNS_DEFAULTS.domain;
  const iface = checkString('interface', opts.interface);
  if (iface !== undefined && !isIPv4(iface))
    throw new InvalidOptionError(
      'interface',
      `expected an IPv4 address, got ${JSON.stringify(iface)}`,
    );
  const ttlMs = checkNumber('ttlMs', opts.ttlMs, 1) ?? MDNS_DEFAULTS.ttlMs;
  const queryTimeoutMs =
    checkNumber('queryTimeoutMs', opts.queryTimeoutMs, 1) ?? MDNS_DEFAULTS.queryTimeoutMs;
  const port = checkNumber('port', opts.port, 1) ?? MDNS_DEFAULTS.port;
  if (!Number.isInteger(port) || port > 65535)
    throw new InvalidOptionError('port', `expected a UDP port, got ${port}`);
  const logger =
    checkComponent('logger', opts.logger, ['warn']) ??
    defaultLogger({ component: 'registry/mdns' });
  return new MdnsRegistry({ domain, iface, ttlMs, queryTimeoutMs, port, logger });
}

/** Questions of one query answered; go-micro and every querier we know ask one at a time. */
const MAX_QUESTIONS = 8;

interface Settings {
  domain: string;
  iface: string | undefined;
  ttlMs: number;
  queryTimeoutMs: number;
  port: number;
  logger: Logger;
}

/** A node heard on the network. */
interface Cached {
  record: NodeRecord;
  seenAt: number;
  expiresAt: number;
  /** When to ask again whether it lives (80 % of its TTL). */
  refreshAt: number;
}

interface WatchSlot {
  service: string | undefined;
  queue: AsyncQueue<WatchEvent>;
}

class MdnsRegistry implements Registry {
  readonly name = 'mdns';
  private readonly names: Names;
  private readonly host = `${hostname() || 'localhost'}`;
  private readonly local = new Map<string, LocalNode>();
  private readonly announcing = new Set<NodeJS.Timeout>();
  private readonly cache = new Map<string, Cached>();
  private readonly listed = new Map<string, number>();
  private readonly watchers = new Set<WatchSlot>();
  private readonly warnings: WarnLimiter;
  private readonly sockets: Promise<Sockets>;
  private readonly sweep: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly s: Settings) {
    this.names = new Names(s.domain);
    this.warnings = new WarnLimiter(s.logger, MDNS_DEFAULTS.warnIntervalMs);
    this.sockets = openSockets({
      iface: s.iface,
      port: s.port,
      group: MDNS_DEFAULTS.group,
      onQuery: (p, r) => this.guard('query', () => this.answer(p, r)),
      onResponse: (p) => this.guard('response', () => this.heard(p)),
      onWarning: (err) => this.warnings.warn('malformed packet', err.message),
    });
    // Unhandled until an operation awaits it: an operation reports the failure.
    this.sockets.catch(() => {});
    this.sweep = setInterval(
      () => this.guard('sweep', () => this.expire()),
      MDNS_DEFAULTS.sweepMs,
    ).unref();
  }

  async register(service: Service, opts?: RegisterOptions): Promise<void> {
    const ttlMs = checkRegistration(service, opts) || this.s.ttlMs;
    const ttl = Math.max(1, Math.ceil(ttlMs / 1000));
    const nodes: LocalNode[] = [];
    for (const r of toRecords(service)) {
      try {
        nodes.push(localNode(r.service, r.node, ttl));
      } catch (err) {
        throw MicroError.badRequest(
          REGISTRY_ERROR_ID,
          `service ${service.name}: ${(err as Error).message}`,
        );
      }
    }
    const sockets = await this.open();
    for (const n of nodes) {
      const instance = this.names.instance(n.service.name, n.node.id);
      const renewal = this.local.has(instance);
      this.local.set(instance, n);
      const announce = (): Promise<void> =>
        sockets.multicast({ answers: instanceAnswers(this.names, n, this.host) });
      await announce();
      // A new node is announced a second time (RFC 6762 §8.3); a renewal once is enough.
      if (!renewal) {
        const t = setTimeout(() => {
          this.announcing.delete(t);
          if (this.local.get(instance) === n) void announce();
        }, MDNS_DEFAULTS.announceIntervalMs).unref();
        this.announcing.add(t);
      }
    }
  }

  async deregister(service: Service): Promise<void> {
    checkRegistration(service);
    const sockets = await this.open();
    const sent: Promise<void>[] = [];
    for (const node of service.nodes) {
      const instance = this.names.instance(service.name, node.id);
      const n = this.local.get(instance);
      if (!n) continue;
      this.local.delete(instance);
      sent.push(sockets.multicast({ answers: instanceAnswers(this.names, n, this.host, 0) }));
    }
    await Promise.all(sent);
  }

  async getService(name: string): Promise<Service[]> {
    const start = Date.now();
    await this.ask([{ name: this.names.service(name), type: 'PTR' }]);
    const records: NodeRecord[] = [];
    for (const n of this.local.values()) if (n.service.name === name) records.push(n);
    const mine = new Set(records.map((r) => r.node.id));
    for (const c of this.cache.values()) {
      if (c.record.service.name !== name || c.seenAt < start || mine.has(c.record.node.id))
        continue;
      records.push(c.record);
    }
    return groupRecords(records);
  }

  async listServices(): Promise<Service[]> {
    const start = Date.now();
    await this.ask([{ name: this.names.list, type: 'PTR' }]);
    const names = new Set<string>();
    for (const n of this.local.values()) names.add(n.service.name);
    for (const [name, at] of this.listed) if (at >= start) names.add(name);
    return [...names].sort().map((name) => ({ name, version: '', endpoints: [], nodes: [] }));
  }

  watch(opts: WatchOptions = {}): Watcher {
    const slot: WatchSlot = { service: opts.service, queue: undefined as never };
    const { watcher, queue } = createWatcher(() => this.watchers.delete(slot));
    slot.queue = queue;
    if (this.closed) {
      queue.end(closedError());
      return watcher;
    }
    this.watchers.add(slot);
    // Nodes already up would otherwise stay unseen until they re-announce: ask for them.
    if (opts.service !== undefined)
      void this.open()
        .then((s) =>
          s.query({ questions: [{ name: this.names.service(opts.service ?? ''), type: 'PTR' }] }),
        )
        .catch(() => {});
    return watcher;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweep);
    for (const t of this.announcing) clearTimeout(t);
    for (const w of this.watchers) w.queue.end();
    this.watchers.clear();
    let sockets: Sockets;
    try {
      sockets = await this.sockets;
    } catch {
      return;
    }
    // Nodes still registered say goodbye: nothing answers for them any more.
    await Promise.all(
      [...this.local.values()].map((n) =>
        sockets.multicast({ answers: instanceAnswers(this.names, n, this.host, 0) }),
      ),
    );
    this.local.clear();
    await sockets.close();
  }

  private async open(): Promise<Sockets> {
    if (this.closed) throw closedError();
    try {
      return await this.sockets;
    } catch (err) {
      throw MicroError.unavailable(
        REGISTRY_ERROR_ID,
        `mdns: cannot open the multicast sockets: ${(err as Error).message}`,
      );
    }
  }

  /** Sends a query, again a third of the way through (a lost datagram), and waits the window. */
  private async ask(questions: Question[]): Promise<void> {
    const sockets = await this.open();
    await sockets.query({ questions });
    await sleep(this.s.queryTimeoutMs / 3);
    await sockets.query({ questions });
    await sleep((this.s.queryTimeoutMs * 2) / 3);
  }

  /** Answers a query for what this process registered (go-micro's zone.go `Records`). */
  private answer(packet: mDNS.QueryPacket, from: RemoteInfo): void {
    if (this.closed || this.local.size === 0) return;
    const sockets = this.sockets;
    // A query may hold many questions; each answered one costs a packet per node, so a small
    // forged query must not turn into a flood.
    for (const q of (packet.questions ?? []).slice(0, MAX_QUESTIONS)) {
      const name = q.name.toLowerCase();
      // DNS names compare without case (RFC 4343)
      const is = (n: string): boolean => name === n.toLowerCase();
      // dns-packet decodes type 255 as 'ANY', which its types do not list
      const any = (q.type as string) === 'ANY';
      const replies: Answer[][] = [];
      if (is(this.names.enumeration) && (any || q.type === 'PTR')) {
        replies.push([
          { name: q.name, type: 'PTR', ttl: Math.ceil(this.s.ttlMs / 1000), data: this.names.list },
        ]);
      } else if (is(this.names.list) && (any || q.type === 'PTR')) {
        const services = new Map<string, number>();
        for (const n of this.local.values()) services.set(n.service.name, n.ttl);
        for (const [svc, ttl] of services)
          replies.push(listAnswers(this.names, svc, this.host, ttl));
      } else {
        for (const n of this.local.values()) {
          if ((any || q.type === 'PTR') && is(this.names.service(n.service.name)))
            replies.push(serviceAnswers(this.names, n, this.host));
          else if (is(this.names.instance(n.service.name, n.node.id)))
            replies.push(instanceAnswers(this.names, n, this.host));
        }
      }
      // go-micro's client drops an answer whose question is not the one it asked: echo it. A
      // querier on port 5353 shares it with other responders, so it gets multicast (RFC 6762 §6).
      for (const answers of replies) {
        const reply = { id: from.port === this.s.port ? 0 : packet.id, questions: [q], answers };
        void sockets.then((s) =>
          from.port === this.s.port ? s.multicast(reply) : s.unicast(reply, from),
        );
      }
    }
  }

  /** Takes in what a response says about nodes and service lists. */
  private heard(packet: mDNS.ResponsePacket): void {
    if (this.closed) return;
    const seen = readResponse(this.names, packet);
    for (const why of seen.skipped) this.warnings.warn('record', why);
    const now = Date.now();
    for (const l of seen.listed) {
      if (l.ttl === 0) this.listed.delete(l.name);
      else if (this.listed.size < MDNS_DEFAULTS.maxHeard || this.listed.has(l.name))
        this.listed.set(l.name, now);
    }
    for (const n of seen.nodes) {
      const prev = this.cache.get(n.instance);
      const record: NodeRecord = { service: n.service, node: n.node };
      if (n.ttl === 0) {
        if (prev) this.change(prev.record, undefined);
        this.cache.delete(n.instance);
        continue;
      }
      if (!prev && this.cache.size >= MDNS_DEFAULTS.maxHeard) {
        this.warnings.warn('node beyond the cache limit', n.instance);
        continue;
      }
      this.cache.set(n.instance, {
        record,
        seenAt: now,
        expiresAt: now + n.ttl * 1000,
        refreshAt: now + n.ttl * 800,
      });
      this.change(prev?.record, record);
    }
  }

  /** Drops nodes whose TTL ran out; asks once more after those at 80 % of theirs. */
  private expire(): void {
    const now = Date.now();
    for (const [instance, c] of this.cache) {
      if (now >= c.expiresAt) {
        this.cache.delete(instance);
        this.change(c.record, undefined);
      } else if (now >= c.refreshAt) {
        c.refreshAt = Infinity;
        void this.sockets.then((s) =>
          s.query({ questions: [{ name: instance, type: 'ANY' as Question['type'] }] }),
        );
      }
    }
  }

  private change(prev: NodeRecord | undefined, next: NodeRecord | undefined): void {
    if (this.watchers.size === 0) return;
    const key = 'node';
    const events = diffRecords(
      new Map(prev ? [[key, prev]] : []),
      new Map(next ? [[key, next]] : []),
    );
    for (const e of events)
      for (const w of this.watchers) if (watchedBy(w.service, e)) w.queue.push(structuredClone(e));
  }

  /** Runs a handler of network input: a bug or a hostile packet must not take the process down. */
  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.warnings.warn(`${what} that failed`, (err as Error).message);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
