import { clampTimeout } from '../context.js';
import { mkdirSync, watch as fsWatch, type FSWatcher } from 'node:fs';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULTS } from '../defaults.js';
import { InvalidOptionError } from '../errors.js';
import type { Logger } from '../logger.js';
import { checkComponent, checkNumber, checkString } from '../options.js';
import type { RegisterOptions, Registry, Service, WatchOptions, Watcher } from './registry.js';
import { checkRegistration, closedError } from './errors.js';
import { groupRecords, toRecords, type RecordMap } from './node-records.js';
import { SnapshotWatch, failedWatcher } from './watchers.js';
import {
  DIR_MODE,
  checkOwnDir,
  currentOwner,
  defaultDir,
  encodeName,
  entryName,
  listDirsSync,
  missingAs,
  readAllDirs,
  readServiceDir,
  readServiceDirSync,
  unavailable,
  writeAtomic,
  type EntryFile,
} from './local-entry.js';

/** Options for {@link localRegistry}. */
export interface LocalRegistryOptions {
  /**
   * Directory holding the entries; processes find each other by using the same one. Created
   * (mode 0700) when missing.
   * @defaultValue `process.env.TSMICRO_REGISTRY_DIR`, else `<os.tmpdir()>/tsmicro-<uid>/registry`
   */
  dir?: string;
  /**
   * How often a watcher rescans the directory, in ms, to notice entries that expired and
   * processes that died without deregistering: neither changes a file, so no fs event tells.
   * @defaultValue `DEFAULTS.localSweepMs` (1 000)
   */
  sweepMs?: number;
  /**
   * Where a warning goes for each entry file skipped as corrupt or misplaced (once per file and
   * reason). `createService` passes its own. @defaultValue none (skipped silently)
   */
  logger?: Logger;
}

/**
 * The embedded default registry: a directory with one JSON file per node, shared by every
 * process on the host that uses it; no server. Writes are atomic (temp file + rename). An entry
 * counts while its TTL runs and, when written on this host, while its writer process lives: a
 * killed process's nodes vanish at once, not a TTL later. Watchers combine fs events with a
 * periodic sweep.
 */
export function localRegistry(opts: LocalRegistryOptions = {}): Registry {
  const dir = checkString('dir', opts.dir);
  const sweepMs = checkNumber('sweepMs', opts.sweepMs);
  if (sweepMs === 0) throw new InvalidOptionError('sweepMs', 'must be > 0, got 0');
  const chosen = dir ?? (process.env.TSMICRO_REGISTRY_DIR || undefined);
  const root = path.resolve(chosen ?? defaultDir());
  const logger = checkComponent('logger', opts.logger, ['warn']);
  return new LocalRegistry(
    root,
    clampTimeout(sweepMs ?? DEFAULTS.localSweepMs),
    chosen ? undefined : path.dirname(root),
    logger,
  );
}

/**
 * Most skipped files remembered (so each is logged once); a directory full of junk cannot grow it
 * past this.
 */
const MAX_SKIPS_REMEMBERED = 10_000;

class LocalRegistry implements Registry {
  readonly name = 'local';
  readonly self = currentOwner();
  private readonly watchers = new Set<Watcher>();
  private closed = false;
  private userDirChecked = false;

  private readonly skips = new Set<string>();

  constructor(
    readonly root: string,
    private readonly sweepMs: number,
    private readonly userDir: string | undefined,
    private readonly logger?: Logger,
  ) {}

  /** Logs a skipped entry file once per file and reason. */
  readonly skipped = (file: string, reason: string): void => {
    if (!this.logger) return;
    const key = `${file}\u0000${reason}`;
    if (this.skips.has(key)) return;
    if (this.skips.size >= MAX_SKIPS_REMEMBERED) this.skips.clear();
    this.skips.add(key);
    this.logger.warn({ file, reason }, 'local registry entry skipped');
  };

  async register(service: Service, opts?: RegisterOptions): Promise<void> {
    const ttl = checkRegistration(service, opts);
    const expiresAt = ttl > 0 ? Date.now() + ttl : 0;
    await this.io('register', async () => {
      const dir = this.prepare(this.serviceDir(service.name));
      await Promise.all(
        toRecords(service).map((r) => {
          const entry: EntryFile = { ...r, expiresAt, owner: this.self };
          return writeAtomic(path.join(dir, entryName(r.node.id)), JSON.stringify(entry));
        }),
      );
    });
  }

  async deregister(service: Service): Promise<void> {
    checkRegistration(service);
    const dir = this.serviceDir(service.name);
    await this.io('deregister', () =>
      Promise.all(
        service.nodes.map((n) =>
          unlink(path.join(dir, entryName(n.id))).catch(missingAs(undefined)),
        ),
      ),
    );
  }

  async getService(name: string): Promise<Service[]> {
    const out: RecordMap = new Map();
    await this.io(
      'getService',
      async () =>
        name !== '' && readServiceDir(this.serviceDir(name), this.self, out, this.skipped),
    );
    return groupRecords(out.values());
  }

  async listServices(): Promise<Service[]> {
    const out: RecordMap = new Map();
    await this.io('listServices', () =>
      readAllDirs(this.root, this.self, out, undefined, this.skipped),
    );
    return groupRecords(out.values());
  }

  watch(opts: WatchOptions = {}): Watcher {
    if (this.closed) return failedWatcher(closedError());
    const { service } = opts;
    const dirs = new DirWatch(
      this,
      service === undefined ? this.root : this.serviceDir(service),
      service === undefined,
    );
    let initial: RecordMap;
    try {
      initial = dirs.start();
    } catch (err) {
      dirs.close();
      return failedWatcher(unavailable('watch', err));
    }
    const snap: SnapshotWatch = new SnapshotWatch({
      initial,
      scan: () =>
        dirs.scan().catch((err: unknown) => {
          throw unavailable('watch', err);
        }),
      sweepMs: this.sweepMs,
      debounceMs: DEFAULTS.localDebounceMs,
      onStop: () => {
        dirs.close();
        this.watchers.delete(snap.watcher);
      },
    });
    dirs.onChange = () => snap.trigger();
    this.watchers.add(snap.watcher);
    return snap.watcher;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of [...this.watchers]) w.stop();
  }

  private serviceDir(name: string): string {
    return path.join(this.root, encodeName(name));
  }

  /** Creates `dir` (mode 0700) when missing and returns it. */
  prepare(dir: string): string {
    if (this.userDir !== undefined && !this.userDirChecked) {
      mkdirSync(this.userDir, { recursive: true, mode: DIR_MODE });
      checkOwnDir(this.userDir);
      this.userDirChecked = true;
    }
    mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    return dir;
  }

  /** Runs a file operation; a closed registry or a failing file system is a 503. */
  private async io(op: string, fn: () => Promise<unknown>): Promise<void> {
    if (this.closed) throw closedError();
    try {
      await fn();
    } catch (err) {
      throw unavailable(op, err);
    }
  }
}

/**
 * The file side of one watch: fs watchers on the watched directories (fs.watch is not recursive
 * on Linux with Node 20, so watching every service takes one per service directory) and reading
 * them. A failing fs watcher is dropped, never thrown: the sweep still finds every change.
 */
class DirWatch {
  onChange: () => void = () => {};
  private readonly fsWatchers = new Map<string, FSWatcher>();
  private closed = false;

  /** `all`: `base` is the root and every service directory in it is watched. */
  constructor(
    private readonly reg: LocalRegistry,
    private readonly base: string,
    private readonly all: boolean,
  ) {}

  /**
   * Arms the fs watches, then reads the records now. Synchronous, and watching before reading:
   * a change made once watch() has returned, or landing between the two, must be reported.
   */
  start(): RecordMap {
    const out: RecordMap = new Map();
    this.arm(this.reg.prepare(this.base));
    if (!this.all) readServiceDirSync(this.base, this.reg.self, out, this.reg.skipped);
    else
      for (const dir of listDirsSync(this.base)) {
        this.arm(dir);
        readServiceDirSync(dir, this.reg.self, out, this.reg.skipped);
      }
    return out;
  }

  async scan(): Promise<RecordMap> {
    const out: RecordMap = new Map();
    if (!this.all) {
      if (!(await readServiceDir(this.base, this.reg.self, out, this.reg.skipped)))
        this.rearm(this.base);
      return out;
    }
    const dirs = await readAllDirs(
      this.base,
      this.reg.self,
      out,
      (dir) => this.arm(dir),
      this.reg.skipped,
    );
    if (dirs === undefined) this.rearm(this.base);
    for (const [dir, w] of this.fsWatchers) {
      if (dir !== this.base && !dirs?.includes(dir)) {
        w.close();
        this.fsWatchers.delete(dir);
      }
    }
    return out;
  }

  close(): void {
    this.closed = true;
    for (const w of this.fsWatchers.values()) w.close();
    this.fsWatchers.clear();
  }

  private arm(dir: string): void {
    if (this.closed || this.fsWatchers.has(dir)) return;
    try {
      const w = fsWatch(dir, { persistent: false }, () => this.onChange());
      w.on('error', () => {
        w.close();
        if (this.fsWatchers.get(dir) === w) this.fsWatchers.delete(dir);
      });
      this.fsWatchers.set(dir, w);
    } catch {
      // fs.watch unavailable here, or the directory just vanished: sweep only.
    }
  }

  /** The directory went away (a tmp cleaner?): recreate it and watch the new one. */
  private rearm(dir: string): void {
    this.fsWatchers.get(dir)?.close();
    this.fsWatchers.delete(dir);
    try {
      if (!this.closed) this.arm(this.reg.prepare(dir));
    } catch {
      // retried on the next sweep
    }
  }
}
