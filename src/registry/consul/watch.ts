import type { Watcher } from '../registry.js';
import type { ConsulAgents, HealthEntry } from './agent.js';
import { decodeEndpoints, decodeMetadata, decodeVersion } from './encoding.js';
import { asError } from '../../internal/as-error.js';
import { joinHostPort } from '../../options.js';
import { diffRecords, type NodeRecord, type RecordMap, recordKey } from '../node-records.js';
import { createWatcher } from '../watchers.js';

/**
 * Consul health entries → node records, and the blocking-query loop that watches one service.
 * Not exported from the package.
 */

/**
 * The live nodes of `name` as go-micro reads them (registry/consul GetService): entries of that
 * service, minus any with a critical check (node-level ones such as serfHealth included), with
 * version, endpoints and metadata decoded from the tags.
 */
export function toRecords(name: string, entries: readonly HealthEntry[]): RecordMap {
  const out: RecordMap = new Map();
  for (const e of entries) {
    if (e?.Service?.Service !== name) continue;
    if ((e.Checks ?? []).some((c) => c.Status === 'critical')) continue;
    const tags = e.Service.Tags ?? [];
    const host = e.Service.Address || e.Node?.Address || '';
    const record: NodeRecord = {
      service: { name, version: decodeVersion(tags), endpoints: decodeEndpoints(tags) },
      node: {
        id: e.Service.ID,
        address: e.Service.Port ? joinHostPort(host, e.Service.Port) : host,
        metadata: decodeMetadata(tags),
      },
    };
    out.set(recordKey(name, record.node.id), record);
  }
  return out;
}

/** What a service watch needs. */
export interface ServiceWatchOptions {
  agents: ConsulAgents;
  service: string;
  /** Longest a blocking query waits for a change, ms. */
  waitMs: number;
  onStop(): void;
}

/**
 * Watches one service through blocking queries (`?index=N&wait=…`): every answer is diffed
 * against the previous one and the differences become events, as go-micro's watch plan
 * handler does. Only changes after the watch starts are reported. A failed query ends the
 * watch with its error (the selector cache restarts it with backoff); stop() aborts the query in
 * flight, so stopping is prompt.
 */
export function watchService(o: ServiceWatchOptions): Watcher {
  const abort = new AbortController();
  const { watcher, queue } = createWatcher(() => {
    abort.abort();
    o.onStop();
  });
  void (async () => {
    try {
      let { entries, index } = await o.agents.health(o.service, {
        stale: false,
        signal: abort.signal,
      });
      let snapshot = toRecords(o.service, entries);
      while (!abort.signal.aborted) {
        const next = await o.agents.health(o.service, {
          stale: false,
          index: index ?? '0',
          waitMs: o.waitMs,
          signal: abort.signal,
        });
        if (abort.signal.aborted) return;
        // An index that goes backwards (the agent restarted, its state was rebuilt) restarts the
        // blocking sequence from 0, as Consul's docs ask; otherwise the next query would block on
        // an index the agent will not reach for a long time.
        index =
          next.index !== undefined && index !== undefined && BigInt(next.index) < BigInt(index)
            ? '0'
            : next.index;
        entries = next.entries;
        const records = toRecords(o.service, entries);
        for (const event of diffRecords(snapshot, records)) queue.push(event);
        snapshot = records;
      }
    } catch (err) {
      if (!abort.signal.aborted) queue.end(asError(err));
    }
  })();
  return watcher;
}
