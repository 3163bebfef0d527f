import { readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The package-lock.json a consumer project of the packed tarball would get from `npm install`,
 * built from this repository's own lockfile, so `npm ci --offline` can install it from npm's
 * cache without talking to the registry (tests talk to loopback only).
 *
 * Why not `npm install --offline <tarball>`: that resolves each dependency's version range from
 * its registry document (packument), and `npm ci` — what .ci/run and developers run — caches only
 * the tarballs, never the packuments, so an offline install finds nothing to resolve against.
 * A lockfile names exact versions with their integrity, which is all npm needs from the cache.
 *
 * The entries are the closure of `roots` under Node's resolution (from where each package sits in
 * this repo's node_modules tree), so the consumer's tree has the same shape and versions as ours.
 */

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [key: string]: unknown;
}

interface Lockfile {
  packages: Record<string, LockEntry>;
}

interface PackageJson {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  engines?: Record<string, string>;
  bin?: Record<string, string>;
}

/** What a consumer project writes: its package.json and the lockfile that goes with it. */
export interface ConsumerFiles {
  packageJson: string;
  packageLock: string;
  /** Every package the lockfile installs besides tsmicro, by lockfile path. */
  installs: readonly string[];
}

/**
 * The files of a consumer depending on `tarball` (a path relative to the consumer) and on the
 * packages in `extra` (names of packages in this repo's lockfile, at the versions locked there).
 */
export async function consumerFiles(
  repo: string,
  tarball: string,
  extra: readonly string[] = [],
): Promise<ConsumerFiles> {
  const lock = JSON.parse(await readFile(path.join(repo, 'package-lock.json'), 'utf8')) as Lockfile;
  const pkg = JSON.parse(await readFile(path.join(repo, 'package.json'), 'utf8')) as PackageJson;

  const closure: Record<string, LockEntry> = {};
  const visit = (from: string, deps: Record<string, string> | undefined): void => {
    for (const name of Object.keys(deps ?? {})) {
      const at = resolveFrom(lock, from, name);
      if (at === undefined)
        throw new Error(`package-lock.json has no ${name} reachable from ${from}`);
      if (closure[at]) continue;
      closure[at] = lock.packages[at];
      visit(at, { ...closure[at].dependencies, ...closure[at].optionalDependencies });
    }
  };
  visit('', pkg.dependencies);
  const extraDeps: Record<string, string> = {};
  for (const name of extra) {
    const version = lock.packages[`node_modules/${name}`]?.version;
    if (version === undefined) throw new Error(`package-lock.json has no top-level ${name}`);
    extraDeps[name] = version;
  }
  visit('', extraDeps);

  const dependencies = { [pkg.name]: `file:${tarball}`, ...extraDeps };
  const packageLock = {
    name: 'consumer',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'consumer', dependencies },
      [`node_modules/${pkg.name}`]: {
        version: pkg.version,
        resolved: `file:${tarball}`,
        dependencies: pkg.dependencies,
        peerDependencies: pkg.peerDependencies,
        peerDependenciesMeta: pkg.peerDependenciesMeta,
        engines: pkg.engines,
        // npm ci links a package's commands from its lockfile entry.
        bin: pkg.bin,
      },
      ...closure,
    },
  };
  const packageJson = { name: 'consumer', private: true, type: 'module', dependencies };
  return {
    packageJson: JSON.stringify(packageJson, null, 2),
    packageLock: JSON.stringify(packageLock, null, 2),
    installs: Object.keys(closure),
  };
}

/** Where `require(name)` from the package at lockfile path `from` lands, as Node looks it up. */
function resolveFrom(lock: Lockfile, from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = `${dir === '' ? '' : `${dir}/`}node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (dir === '') return undefined;
    const up = dir.lastIndexOf('/node_modules/');
    dir = up < 0 ? '' : dir.slice(0, up);
  }
}
