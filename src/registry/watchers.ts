import { clampTimeout } from '../context.js';
import { asError } from '../internal/as-error.js';
import { AsyncQueue } from '../internal/async-queue.js';
import { diffRecords, type RecordMap } from './node-records.js';
import type { WatchEvent, Watcher } from './registry.js';

/**
 * The watchers the registries hand out: {@link createWatcher}, fed through a queue (memory pushes
 * its changes, Consul its blocking queries' differences, etcd its watch stream's), one that has
 * already failed, and {@link SnapshotWatch} for a registry that can only be re-read (local).
 */

/**
 * A {@link Watcher} fed through an {@link AsyncQueue}. `onStop` runs once, whichever way the
 * watch ends: `stop()`, dispose, the consumer leaving its loop, or the feeder ending the queue.
 */
export function createWatcher(onStop: () => void): {
  watcher: Watcher;
  queue: AsyncQueue<WatchEvent>;
} {
  const queue = new AsyncQueue<WatchEvent>(onStop);
  const watcher: Watcher = {
    [Symbol.asyncIterator]: () => queue,
    // return() rather than end(): events still buffered are dropped, as after go-micro's Stop().
    stop: () => void queue.return(),
    [Symbol.asyncDispose]: async () => {
      await queue.return();
    },
  };
  return { watcher, queue };
}

/** A watcher that has already failed with `err`: iterating it throws at once. */
export function failedWatcher(err: Error): Watcher {
  const { watcher, queue } = createWatcher(() => {});
  queue.end(err);
  return watcher;
}

/** What {@link SnapshotWatch} needs from a registry. */
export interface SnapshotWatchOptions {
  /** The records when the watch starts; only changes after it are reported. */
  initial: RecordMap;
  /** Reads the records now. Rejecting ends the watch with that error. */
  scan(): Promise<RecordMap>;
  /** Interval of unprompted rescans, in ms: catches what no notification reports (expiry). */
  sweepMs: number;
  /** How long notifications are coalesced before a rescan, in ms. */
  debounceMs: number;
  /** Runs once when the watch ends, however it ends. */
  onStop(): void;
}

/**
 * A watch for registries that can only be re-read, not subscribed to: every rescan is diffed
 * against the previous one and the differences become events. Rescans run on {@link trigger}
 * (debounced) and on a sweep timer; one at a time, and a trigger during a scan runs another after
 * it, so no change is missed. Timers are unref'd: a watch alone does not keep a process alive.
 */
export class SnapshotWatch {
  readonly watcher: Watcher;
  stopped = false;
  private readonly queue: AsyncQueue<WatchEvent>;
  private snapshot: RecordMap;
  private readonly sweep: NodeJS.Timeout;
  private debounce: NodeJS.Timeout | undefined;
  private scanning = false;
  private again = false;

  constructor(private readonly opts: SnapshotWatchOptions) {
    const created = createWatcher(() => {
      this.stopped = true;
      clearInterval(this.sweep);
      clearTimeout(this.debounce);
      opts.onStop();
    });
    this.watcher = created.watcher;
    this.queue = created.queue;
    this.snapshot = opts.initial;
    this.sweep = setInterval(() => this.rescan(), clampTimeout(opts.sweepMs)).unref();
  }

  /** Something may have changed: rescan soon. */
  trigger(): void {
    if (this.stopped || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.rescan();
    }, this.opts.debounceMs).unref();
  }

  private rescan(): void {
    if (this.stopped) return;
    if (this.scanning) {
      this.again = true;
      return;
    }
    this.scanning = true;
    void (async () => {
      try {
        do {
          this.again = false;
          const next = await this.opts.scan();
          if (this.stopped) return;
          const events = diffRecords(this.snapshot, next);
          this.snapshot = next;
          for (const e of events) this.queue.push(e);
        } while (this.again && !this.stopped);
      } catch (err) {
        this.queue.end(asError(err));
      } finally {
        this.scanning = false;
      }
    })();
  }
}

/** True when `event` concerns the service a watcher asked for (or it asked for every service). */
export function watchedBy(service: string | undefined, event: WatchEvent): boolean {
  return service === undefined || event.service.name === service;
}
