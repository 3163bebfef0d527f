import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Binaries `.ci/` builds into the cache (Consul, the go-micro peer), maybe still building in the
 * background. `.ci/run` waits for its builds before the tests, so with CI=true a build still
 * running is a failure at once, never a race. Elsewhere a test waits a little for one (bounded
 * well inside a test file's own timeout: npm test's --test-timeout covers the whole file), then
 * skips with the reason.
 */

/** Where `.ci/` caches what it builds and installs: TSMICRO_CACHE, as the scripts read it. */
export const CACHE = process.env.TSMICRO_CACHE ?? path.join(os.homedir(), '.cache', 'tsmicro');

/**
 * Longest wait for a build still running, outside CI: TSMICRO_BUILD_WAIT_MS, at most 90 s, well
 * inside the 600 s a test file gets under npm test (the wait happens inside it).
 */
const WAIT_MS = Math.min(Number(process.env.TSMICRO_BUILD_WAIT_MS ?? 30_000), 90_000);

/** A cached build: its pid and log files (`.ci/go-build.sh` writes them) and how to find it. */
export interface CachedBuild {
  /** What is built, for messages ("the Consul", "the go-micro peer"). */
  what: string;
  pidFile: string;
  /** The script that builds it (`consul.sh`), whose process the pid file must still name. */
  script: string;
  log: string;
  /** Why a suite cannot run when there is no binary and no build running. */
  missing: string;
  /** The binary, when it is in place (the scripts rename it there only once complete). */
  find(): string | undefined;
}

/** The binary, or why there is none: still building, or never built. */
export type BuildResult = { bin: string } | { bin?: undefined; why: string };

/** Finds `build`'s binary; waits (bounded, and never with CI=true) while a build is running. */
export async function builtBinary(build: CachedBuild): Promise<BuildResult> {
  let bin = build.find();
  if (bin) return { bin };
  if (!buildRunning(build)) {
    // It may have finished between the two looks.
    bin = build.find();
    return bin ? { bin } : { why: build.missing };
  }
  const running = `${build.what} build is still running in the background (log: ${build.log})`;
  if (process.env.CI === 'true')
    throw new Error(`CI=true and ${running}: .ci/run waits for its builds before the tests`);
  process.stderr.write(
    `waiting up to ${WAIT_MS / 1000} s for ${build.what} build in the background (log: ${build.log})\n`,
  );
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline && buildRunning(build)) {
    await new Promise((r) => setTimeout(r, 1_000));
    bin = build.find();
    if (bin) return { bin };
  }
  bin = build.find();
  return bin ? { bin } : { why: `${running}; run the tests again once it is done` };
}

function buildRunning(build: CachedBuild): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(build.pidFile, 'utf8').trim());
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A pid file left from an earlier boot may name an unrelated process now.
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(build.script);
  } catch {
    return true;
  }
}
