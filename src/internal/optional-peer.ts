/**
 * Loads the optional peer packages a plug-in subpath is built on (consul, etcd3, nats, opossum,
 * prom-client, jose, OpenTelemetry). `npm install tsmicro` installs the core without them
 * (package.json `peerDependenciesMeta`), so each subpath that needs one awaits this at the top
 * of its module: importing the subpath without the package then fails at once with an error that
 * says what to install, instead of Node's "Cannot find package" from a file inside tsmicro, or a
 * failure at first use. No core module calls it, so the root import never needs these packages.
 */

/** Thrown when a subpath is imported and an optional peer package it needs is not installed. */
export class MissingPackageError extends Error {
  /** Stable, for code that imports a subpath conditionally and checks why it failed. */
  readonly code = 'ERR_TSMICRO_MISSING_PACKAGE';
  /** The packages to install, by npm name. */
  readonly packages: readonly string[];

  constructor(subpath: string, packages: readonly string[], options?: ErrorOptions) {
    const quoted = packages.map((p) => `"${p}"`).join(' and ');
    const noun = packages.length === 1 ? 'package' : 'packages';
    super(`${subpath} needs the ${noun} ${quoted}: npm install ${packages.join(' ')}`, options);
    this.name = 'MissingPackageError';
    this.packages = packages;
  }
}

type Loaders = Record<string, () => Promise<unknown>>;

/**
 * Runs each loader (`{ consul: () => import('consul') }`: the literal `import()` keeps the types
 * and lets bundlers see the dependency) and resolves with their modules under the same keys.
 * Rejects with a {@link MissingPackageError} naming every package of `subpath` that is not
 * installed; any other failure (the package is there but throws, or a package *it* needs is
 * missing) is rethrown as it is, so a broken install is never reported as a missing one.
 */
export async function importPeers<L extends Loaders>(
  subpath: string,
  loaders: L,
): Promise<{ [K in keyof L]: Awaited<ReturnType<L[K]>> }> {
  const names = Object.keys(loaders);
  const settled = await Promise.allSettled(names.map((name) => loaders[name]()));
  const missing: string[] = [];
  const causes: unknown[] = [];
  settled.forEach((result, i) => {
    if (result.status === 'rejected' && notInstalled(names[i], result.reason)) {
      missing.push(names[i]);
      causes.push(result.reason);
    }
  });
  if (missing.length > 0) {
    throw new MissingPackageError(subpath, missing, {
      cause: causes.length === 1 ? causes[0] : new AggregateError(causes),
    });
  }
  const modules: Record<string, unknown> = {};
  settled.forEach((result, i) => {
    if (result.status === 'rejected') throw result.reason;
    modules[names[i]] = result.value;
  });
  return modules as { [K in keyof L]: Awaited<ReturnType<L[K]>> };
}

/**
 * True when `err` is the import of `pkg` itself failing because `pkg` cannot be found. Node gives
 * ERR_MODULE_NOT_FOUND also for a missing package that `pkg` imports, so the code alone would
 * misreport a broken install: resolving `pkg` again tells them apart. This file resolves
 * bare names from the same node_modules as the plug-in files that call it (same package).
 */
function notInstalled(pkg: string, err: unknown): boolean {
  if (codeOf(err) !== 'ERR_MODULE_NOT_FOUND') return false;
  try {
    import.meta.resolve(pkg);
    return false;
  } catch (resolveErr) {
    return codeOf(resolveErr) === 'ERR_MODULE_NOT_FOUND';
  }
}

function codeOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}
