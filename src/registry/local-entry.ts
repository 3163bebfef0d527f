import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MicroError } from '../errors.js';
import type { Endpoint, Node } from './registry.js';
import { REGISTRY_ERROR_ID } from './errors.js';
import { recordKey, type NodeRecord, type RecordMap, type ServiceInfo } from './node-records.js';

/**
 * The local registry's files: directory layout, the entry format, owner-process liveness and
 * atomic writes. Pure file handling; the registry and its watchers live in local.ts.
 */

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

/** Who wrote an entry: enough to tell, on the same host, whether that process still runs. */
export interface Owner {
  host: string;
  pid: number;
  /**
   * Linux: start of the process in clock ticks after boot (/proc/<pid>/stat field 22); tells a
   * reused pid apart.
   */
  startTime?: number;
  /**
   * Linux: the pid namespace; a pid from another namespace (another container) cannot be checked
   * here.
   */
  pidns?: string;
}

/** What one file holds. */
export interface EntryFile extends NodeRecord {
  /** Epoch ms; 0 = no expiry. */
  expiresAt: number;
  owner: Owner;
}

// ── Entry files: layout, format, owner liveness, atomic writes ──────────────────────────────

/**
 * Reads one service directory into `into`: live entries kept, dead owners' entries removed,
 * unusable ones skipped. False when the directory does not exist.
 */
/** Told about each entry file that is skipped as unusable, and why (for a log line). */
export type SkipReporter = (file: string, reason: string) => void;

export async function readServiceDir(
  dir: string,
  self: Owner,
  into: RecordMap,
  skipped?: SkipReporter,
): Promise<boolean> {
  const files = await readdir(dir).catch(missingAs(undefined));
  if (files === undefined) return false;
  const now = Date.now();
  for (const f of files.filter(isEntryName).sort()) {
    const text = await readFile(path.join(dir, f), 'utf8').catch(missingAs(undefined));
    if (take(dir, f, text, now, self, into, skipped))
      await unlink(path.join(dir, f)).catch(() => {});
  }
  return true;
}

/** The synchronous twin of {@link readServiceDir}, for a watch's first snapshot. */
export function readServiceDirSync(
  dir: string,
  self: Owner,
  into: RecordMap,
  skipped?: SkipReporter,
): void {
  const now = Date.now();
  for (const f of (trySync(() => readdirSync(dir)) ?? []).filter(isEntryName).sort()) {
    const text = trySync(() => readFileSync(path.join(dir, f), 'utf8'));
    if (take(dir, f, text, now, self, into, skipped))
      void unlink(path.join(dir, f)).catch(() => {});
  }
}

/** Reads every service directory; returns their paths, or undefined when `root` does not exist. */
export async function readAllDirs(
  root: string,
  self: Owner,
  into: RecordMap,
  onDir?: (dir: string) => void,
  skipped?: SkipReporter,
): Promise<string[] | undefined> {
  const entries = await readdir(root, { withFileTypes: true }).catch(missingAs(undefined));
  if (entries === undefined) return undefined;
  const dirs = entries
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => path.join(root, d.name))
    .sort();
  for (const dir of dirs) {
    onDir?.(dir);
    await readServiceDir(dir, self, into, skipped);
  }
  return dirs;
}

export function listDirsSync(root: string): string[] {
  const entries = trySync(() => readdirSync(root, { withFileTypes: true })) ?? [];
  return entries
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => path.join(root, d.name))
    .sort();
}

/**
 * Adds the entry in `dir/file` to `into` when it is live. Returns true when its owner process
 * has exited, so the caller removes the file. Corrupt, expired or misplaced entries are skipped.
 */
export function take(
  dir: string,
  file: string,
  text: string | undefined,
  now: number,
  self: Owner,
  into: RecordMap,
  skipped?: SkipReporter,
): boolean {
  if (text === undefined) return false; // removed while listing: normal
  const e = parseEntry(text);
  if (!e) {
    skipped?.(path.join(dir, file), 'not a registry entry (bad JSON or missing fields)');
    return false;
  }
  // An entry must sit where its names put it: lookups and deregister go by path.
  if (encodeName(e.service.name) !== path.basename(dir) || entryName(e.node.id) !== file) {
    skipped?.(
      path.join(dir, file),
      `names service ${JSON.stringify(e.service.name).slice(0, 80)} node ${JSON.stringify(e.node.id).slice(0, 80)}, which belong elsewhere`,
    );
    return false;
  }
  if (!ownerAlive(e.owner, self)) return true;
  if (e.expiresAt === 0 || e.expiresAt > now)
    into.set(recordKey(e.service.name, e.node.id), { service: e.service, node: e.node });
  return false;
}

export function parseEntry(text: string): EntryFile | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined; // a partial or foreign file: skipped, never fatal
  }
  if (!isObject(v) || !isObject(v.service) || !isObject(v.node) || !isObject(v.owner))
    return undefined;
  const { service, node, owner, expiresAt } = v;
  if (typeof service.name !== 'string' || typeof service.version !== 'string') return undefined;
  if (
    typeof node.id !== 'string' ||
    typeof node.address !== 'string' ||
    typeof expiresAt !== 'number'
  )
    return undefined;
  // A pid ≤ 0 would make process.kill address a process group, or every process.
  if (
    typeof owner.host !== 'string' ||
    !Number.isSafeInteger(owner.pid) ||
    (owner.pid as number) <= 0
  )
    return undefined;
  return {
    service: {
      ...service,
      // Endpoint shapes are not checked here (go-micro registries do not either): as stored.
      endpoints: Array.isArray(service.endpoints) ? (service.endpoints as Endpoint[]) : [],
    } as ServiceInfo,
    node: { ...node, metadata: isObject(node.metadata) ? node.metadata : {} } as Node,
    expiresAt,
    owner: {
      host: owner.host,
      pid: owner.pid as number,
      ...(typeof owner.startTime === 'number' ? { startTime: owner.startTime } : {}),
      ...(typeof owner.pidns === 'string' ? { pidns: owner.pidns } : {}),
    },
  };
}

/**
 * False only when the owner certainly exited; an owner this process cannot check counts as alive
 * (its TTL still applies).
 */
export function ownerAlive(owner: Owner, self: Owner): boolean {
  if (owner.host !== self.host) return true;
  if (owner.pidns !== undefined && self.pidns !== undefined && owner.pidns !== self.pidns)
    return true;
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false; // EPERM: alive, another user's
  }
  if (owner.startTime === undefined) return true;
  const actual = owner.pid === self.pid ? self.startTime : procStartTime(owner.pid);
  return actual === undefined || actual === owner.startTime;
}

export function currentOwner(): Owner {
  const owner: Owner = { host: os.hostname(), pid: process.pid };
  const startTime = procStartTime(process.pid);
  if (startTime !== undefined) owner.startTime = startTime;
  const pidns = trySync(() => readlinkSync('/proc/self/ns/pid'));
  if (pidns !== undefined) owner.pidns = pidns;
  return owner;
}

/**
 * Field 22 of /proc/<pid>/stat; undefined without procfs. Fields are counted after the `(comm)`
 * field, which may hold spaces.
 */
export function procStartTime(pid: number): number | undefined {
  const stat = trySync(() => readFileSync(`/proc/${pid}/stat`, 'utf8'));
  if (stat === undefined) return undefined;
  const value = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * Temp file then rename, in the same directory: readers see the old entry or the new one, never
 * half of one.
 */
export async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  try {
    await writeFile(tmp, text, { mode: FILE_MODE });
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

/**
 * A file-name-safe form of a name: URI encoding plus the characters it leaves that some
 * file systems reject, and no leading dot (temp files start with one). Long names are cut and
 * hashed to stay under the 255-byte name limit; the entry itself carries the real names.
 */
export function encodeName(name: string): string {
  let enc: string;
  try {
    enc = encodeURIComponent(name)
      .replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
      .replace(/^\./, '%2E');
  } catch {
    enc = ''; // lone surrogates: hashed below
  }
  if (enc !== '' && enc.length <= 160) return enc;
  return `${enc.slice(0, 140)}~${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
}

export function entryName(nodeId: string): string {
  return `${encodeName(nodeId)}.json`;
}

export function isEntryName(file: string): boolean {
  return file.endsWith('.json') && !file.startsWith('.');
}

export function defaultDir(): string {
  let user: string;
  try {
    const info = os.userInfo();
    user = info.uid >= 0 ? String(info.uid) : info.username;
  } catch {
    user = String(process.getuid?.() ?? process.env.USER ?? process.env.USERNAME ?? 'user');
  }
  return path.join(os.tmpdir(), `tsmicro-${encodeName(user)}`, 'registry');
}

/**
 * In a shared tmp dir another user could create `tsmicro-<uid>` first and then read our
 * entries or plant theirs (steering our calls): refuse a directory we do not own.
 */
export function checkOwnDir(dir: string): void {
  const uid = process.getuid?.();
  if (uid === undefined) return;
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== uid)
    throw new Error(`${dir} is not a directory owned by uid ${uid}`);
  if ((st.mode & 0o077) !== 0) chmodSync(dir, DIR_MODE);
}

export function unavailable(op: string, err: unknown): MicroError {
  if (MicroError.is(err)) return err;
  const detail = `local registry: ${op} failed: ${err instanceof Error ? err.message : String(err)}`;
  return new MicroError(REGISTRY_ERROR_ID, 503, detail, undefined, { cause: err });
}

/**
 * Missing files and directories are normal here (a node deregistered mid-read); anything else is a
 * failure.
 */
export function missingAs<T>(value: T): (err: unknown) => T {
  return (err) => {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return value;
    throw err;
  };
}

export function trySync<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
