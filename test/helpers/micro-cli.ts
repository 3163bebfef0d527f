import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { builtBinary, CACHE } from './builds.js';
import { inNetns } from './netns.js';

/**
 * go-micro's CLI, `micro`, as `.ci/micro.sh` builds it into `$TSMICRO_CACHE/micro-<version>/`
 * (the go-micro version of the peer's go.mod). Missing, a suite is skipped with the reason, except
 * with CI=true, where it is a failure.
 */

const GO_MOD = fileURLToPath(new URL('../../../test/gomicro/peer/go.mod', import.meta.url));
const VERSION = /^\s*go-micro\.dev\/v5 (\S+)/m.exec(readFileSync(GO_MOD, 'utf8'))?.[1] ?? 'unknown';
const BIN = path.join(CACHE, `micro-${VERSION}`, 'micro');

async function find(): Promise<{ bin: string } | { bin?: undefined; why: string }> {
  return builtBinary({
    what: "go-micro's micro CLI",
    pidFile: path.join(CACHE, 'micro.build.pid'),
    script: 'micro.sh',
    log: path.join(CACHE, 'micro.build.log'),
    missing: `no micro CLI at ${BIN}: run .ci/micro.sh`,
    find: () => (existsSync(BIN) ? BIN : undefined),
  });
}

/** Why the micro CLI tests cannot run here, or false. With CI=true a missing CLI throws. */
export async function microSkipReason(): Promise<string | false> {
  const found = await find();
  if (found.bin !== undefined) return false;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${found.why}`);
  return found.why;
}

/** Runs `micro ...args` inside namespace `ns` to its end (bounded); resolves with its stdout. */
export async function runMicro(ns: string, args: string[], timeoutMs = 60_000): Promise<string> {
  const { bin } = await find();
  if (!bin) throw new Error('no micro CLI');
  const [cmd, argv] = inNetns(ns, bin, args);
  const { stdout } = await promisify(execFile)(cmd, argv, {
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
  return stdout;
}
