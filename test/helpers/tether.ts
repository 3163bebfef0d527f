import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { which } from './which.js';

/**
 * Child processes that die with the process that started them, however it dies: a test file
 * the runner times out (SIGTERM) or a SIGKILLed one runs no `exit` handler, and a fixture left
 * behind keeps serving and stays registered where later tests meet it. Three layers:
 * - on Linux, `setpriv --pdeathsig KILL` (util-linux) has the kernel SIGKILL the child when its
 *   parent dies: covers binaries (Consul, etcd, nats-server, the go-micro peer) and Node alike;
 * - Node children also preload tether-guard.js through NODE_OPTIONS, which exits them when their
 *   parent is gone; it is inherited, so it covers their own Node children too (a demo's server),
 *   and systems without setpriv;
 * - every child is tracked and SIGKILLed when this process exits.
 */

const GUARD = new URL('./tether-guard.js', import.meta.url).href;
// TSMICRO_NO_SETPRIV=1 leaves the guard alone, as on a system without setpriv (tether.test.ts).
const SETPRIV = process.env.TSMICRO_NO_SETPRIV === '1' ? undefined : which('setpriv');
const children = new Set<ChildProcess>();

process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/**
 * `command args` prefixed so the kernel kills the process when its parent dies (Linux with
 * util-linux's setpriv; elsewhere unchanged). setpriv execs the command: same pid, same signals.
 */
export function tetherArgs(command: string, args: readonly string[]): [string, string[]] {
  return SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', command, ...args]] : [command, [...args]];
}

/** `env` with the guard preloaded into Node processes and this process named as their anchor. */
export function tetherEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const preload = `--import=${GUARD}`;
  const options = env.NODE_OPTIONS ?? '';
  return {
    ...env,
    NODE_OPTIONS: options.includes(preload) ? options : `${options} ${preload}`.trim(),
    TSMICRO_TETHER_PID: String(process.pid),
  };
}

/** `spawn`, tied to this process by all three layers. */
export function spawnTethered(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): ChildProcess {
  const [cmd, argv] = tetherArgs(command, args);
  const child = spawn(cmd, argv, { ...options, env: tetherEnv(options.env ?? process.env) });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
