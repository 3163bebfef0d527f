import type { Etcd3, IKeyValue, Watcher as EtcdWatcher } from 'etcd3';
import type { MicroError } from '../../errors.js';
import type { Watcher } from '../registry.js';
import { parseEntry } from './entry.js';
import { diffRecords, type NodeRecord, type RecordMap } from '../node-records.js';
import { createWatcher } from '../watchers.js';

/** What {@link watchPrefix} needs. Not exported from the package. */
export interface PrefixWatchOptions {
  client: Etcd3;
  prefix: string;
  /** Only report this service (keys under the prefix may belong to others when it is the root). */
  service: string | undefined;
  toError(what: string, err: unknown): MicroError;
  onStop(): void;
}

/**
 * Watches the keys under a prefix: reads them once, then follows etcd's watch from the revision
 * after that read, so nothing between the two is missed. Each put or delete is diffed against the
 * last known record of its key and becomes go-micro watch events. A lost connection ends the
 * watch with a 503 (the selector cache then re-reads and watches again): after a disconnection
 * the cluster may have lost or compacted what happened meanwhile.
 */
export function watchPrefix(o: PrefixWatchOptions): Watcher {
  let etcdWatcher: EtcdWatcher | undefined;
  let stopped = false;
  const { watcher, queue } = createWatcher(() => {
    stopped = true;
    void etcdWatcher?.cancel().catch(() => {});
    o.onStop();
  });
  const fail = (what: string, err: unknown): void => {
    if (!stopped) queue.end(o.toError(what, err));
  };
  void (async () => {
    try {
      const res = await o.client.getAll().prefix(o.prefix).exec();
      const snapshot: RecordMap = new Map();
      for (const kv of res.kvs) {
        const r = parseEntry(kv.value.toString());
        if (r) snapshot.set(kv.key.toString(), r);
      }
      const w = await o.client
        .watch()
        .prefix(o.prefix)
        .startRevision((BigInt(res.header.revision) + 1n).toString())
        .create();
      etcdWatcher = w;
      if (stopped) {
        void w.cancel().catch(() => {});
        return;
      }
      const apply = (kv: IKeyValue, next: NodeRecord | undefined): void => {
        const key = kv.key.toString();
        const prev = snapshot.get(key);
        if (next) snapshot.set(key, next);
        else snapshot.delete(key);
        const before: RecordMap = new Map(prev ? [[key, prev]] : []);
        const after: RecordMap = new Map(next ? [[key, next]] : []);
        for (const event of diffRecords(before, after)) {
          if (o.service === undefined || event.service.name === o.service) queue.push(event);
        }
      };
      w.on('put', (kv) => apply(kv, parseEntry(kv.value.toString())));
      w.on('delete', (kv) => apply(kv, undefined));
      w.on('disconnected', (err) => fail('watch', err));
      w.on('error', (err) => fail('watch', err));
    } catch (err) {
      fail('watch', err);
    }
  })();
  return watcher;
}
