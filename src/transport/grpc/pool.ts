import { Client, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { DEFAULTS } from '../../defaults.js';

/** What every channel of a pool is built with. */
export interface ChannelPoolConfig {
  credentials: ChannelCredentials;
  options: ChannelOptions;
  /** A channel unused (no call in flight) this long is closed, ms. */
  idleMs: number;
  /**
   * Most channels kept at once; opening one more first closes the least recently used idle
   * channel (busy ones are never closed, so the pool may exceed this while all are busy).
   * @defaultValue `DEFAULTS.poolMaxChannels` (1 000)
   */
  maxChannels?: number;
}

/** A channel lent to one call; `release()` when the call has ended. */
export interface ChannelLease {
  readonly client: Client;
  release(): void;
}

interface Entry {
  client: Client;
  /** Calls in flight: a channel with any is never idle, however long they run. */
  active: number;
  lastUsed: number;
}

/**
 * One grpc-js channel per address, created on first use and shared by every call to it (HTTP/2
 * multiplexes them). Channels unused for `idleMs` are closed by a single unref'd sweep timer,
 * which runs only while the pool holds channels.
 */
export class ChannelPool {
  private readonly entries = new Map<string, Entry>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly config: ChannelPoolConfig) {}

  /** The channel for `address`, counted as busy until the lease is released. */
  acquire(address: string): ChannelLease {
    let entry = this.entries.get(address);
    if (!entry) {
      this.makeRoom();
      entry = {
        client: new Client(address, this.config.credentials, this.config.options),
        active: 0,
        lastUsed: Date.now(),
      };
      this.entries.set(address, entry);
      this.startSweeper();
    }
    const leased = entry;
    leased.active++;
    let released = false;
    return {
      client: leased.client,
      release: () => {
        if (released) return;
        released = true;
        leased.active--;
        leased.lastUsed = Date.now();
      },
    };
  }

  /** Closes the channel to `address`, if any; the next call dials afresh. */
  evict(address: string): void {
    const entry = this.entries.get(address);
    if (!entry) return;
    this.entries.delete(address);
    // grpc-js fails calls still waiting for a connection ("Channel closed before call started")
    // and lets calls already on the wire finish.
    entry.client.close();
    if (this.entries.size === 0) this.stopSweeper();
  }

  /** Closes every channel. */
  close(): void {
    for (const address of [...this.entries.keys()]) this.evict(address);
  }

  /** Number of open channels (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  /** At the limit, closes the least recently used idle channel (a scan, only when full). */
  private makeRoom(): void {
    const max = this.config.maxChannels ?? DEFAULTS.poolMaxChannels;
    if (this.entries.size < max) return;
    let oldest: [string, Entry] | undefined;
    for (const e of this.entries) {
      if (e[1].active === 0 && (!oldest || e[1].lastUsed < oldest[1].lastUsed)) oldest = e;
    }
    if (oldest) this.evict(oldest[0]);
  }

  private startSweeper(): void {
    if (this.sweeper) return;
    // Half the idle time: a channel closes between idleMs and 1.5 × idleMs after its last call.
    this.sweeper = setInterval(() => this.sweep(), Math.max(10, this.config.idleMs / 2));
    this.sweeper.unref();
  }

  private stopSweeper(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [address, entry] of [...this.entries]) {
      if (entry.active === 0 && now - entry.lastUsed >= this.config.idleMs) this.evict(address);
    }
  }
}
