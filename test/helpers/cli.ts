import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { spawnTethered } from './tether.js';

/**
 * Runs Node scripts, the `tsmicro` command among them, to their end and collects what a user
 * would see: the exit code, stdout and stderr. Stdout is a pipe, never a terminal, so the
 * command prints JSON unless told otherwise.
 */

/** The compiled `tsmicro` command (src/cli/main.ts, built next to this file's build). */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** What a finished process printed and how it exited. */
export interface RunResult {
  code: number | string;
  stdout: string;
  stderr: string;
}

/**
 * Runs `script args` with `env` added to this process's environment and `input` on its stdin
 * (closed after it); SIGKILLs it after `timeoutMs`.
 */
export async function runNode(
  script: string,
  args: readonly string[],
  opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const child = spawnTethered(process.execPath, [script, ...args], {
    env: { ...process.env, ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin!.on('error', () => {}); // a command that exits before reading all of it
  child.stdin!.end(opts.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  const [code, signal] = (await once(child, 'close').finally(() => clearTimeout(timer))) as [
    number | null,
    NodeJS.Signals | null,
  ];
  return { code: code ?? signal ?? 'unknown', stdout, stderr };
}

/** Runs `tsmicro args`. */
export function runCli(
  args: readonly string[],
  opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return runNode(CLI, args, opts);
}

/** A `tsmicro` command that keeps running (subscribe, watch): its stdout lines as they come. */
export interface RunningCli extends AsyncDisposable {
  readonly lines: string[];
  /** Resolves with the first line (past or future) matching `pattern`; rejects after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stderr(): string;
  /** Resolves with the exit code (or signal name) once it exited on its own or was stopped. */
  readonly exited: Promise<number | string>;
  /** Sends `signal` and resolves with the exit code (or signal name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Starts `tsmicro args`, stdin closed. */
export function startCli(args: readonly string[], env: Record<string, string> = {}): RunningCli {
  const child = spawnTethered(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const waiters = new Set<{ pattern: RegExp; resolve: (l: string) => void }>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const w of waiters)
      if (w.pattern.test(line)) {
        waiters.delete(w);
        w.resolve(line);
      }
  });
  const exited = once(child, 'close').then(([code, signal]) => (code ?? signal) as number | string);
  const running: RunningCli = {
    lines,
    exited,
    stderr: () => err,
    waitForLine(pattern, timeoutMs = 15_000) {
      const seen = lines.find((l) => pattern.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(
            new Error(
              `no line matching ${pattern} in ${timeoutMs} ms: ${lines.join('\n')}\n${err}`,
            ),
          );
        }, timeoutMs);
        const w = {
          pattern,
          resolve: (l: string) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        waiters.add(w);
        void exited.then((code) => {
          if (!waiters.delete(w)) return;
          clearTimeout(timer);
          reject(
            new Error(
              `tsmicro ${args.join(' ')} exited ${code} first:\n${lines.join('\n')}\n${err}`,
            ),
          );
        });
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    async [Symbol.asyncDispose]() {
      await running.stop('SIGKILL');
    },
  };
  return running;
}
