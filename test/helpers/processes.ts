import { type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { inNetns } from './netns.js';
import { spawnTethered } from './tether.js';

/**
 * Runs fixture programs (test/fixtures/*.ts, compiled next to this file's build) as real child
 * processes, reads their stdout line by line, and kills them — the way multi-process behaviour
 * is tested here. Every one dies with the test process that started it (tether.ts).
 */

/** Absolute path of a compiled fixture, e.g. `fixturePath('greeter-server')`. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}.js`, import.meta.url));
}

/** A running fixture process. */
export interface Fixture extends AsyncDisposable {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every stdout line so far. */
  readonly lines: string[];
  /** Stderr so far (for failure messages). */
  stderr(): string;
  /**
   * Resolves with the first stdout line (past or future) matching `pattern`; rejects on exit or
   * timeout.
   */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** Sends `signal` and waits for exit. */
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Starts fixture `name` with `args` and extra `env`; `opts.netns`: inside that namespace. */
export function startFixture(
  name: string,
  args: string[] = [],
  env: Record<string, string> = {},
  opts: { netns?: string } = {},
): Fixture {
  const argv = [fixturePath(name), ...args];
  const [command, commandArgs] = opts.netns
    ? inNetns(opts.netns, process.execPath, argv)
    : [process.execPath, argv];
  const child = spawnTethered(command, commandArgs, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err = (err + d).slice(-20_000);
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const m = line.match(waiters[i].pattern);
      if (m) {
        waiters[i].resolve(m);
        waiters.splice(i, 1);
      }
    }
  });
  const exited: Promise<number | string> = once(child, 'exit').then(
    ([code, signal]) => (code ?? signal) as number | string,
  );
  const fixture: Fixture = {
    child,
    pid: child.pid!,
    lines,
    stderr: () => err,
    exited,
    waitForLine(pattern, timeoutMs = 15_000) {
      for (const line of lines) {
        const m = line.match(pattern);
        if (m) return Promise.resolve(m);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `${name}: no line matching ${pattern} within ${timeoutMs} ms; stderr:\n${err}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({
          pattern,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited (${code}) before printing ${pattern}; stderr:\n${err}`));
        });
      });
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    async [Symbol.asyncDispose]() {
      await fixture.kill('SIGKILL');
    },
  };
  return fixture;
}

/** What {@link runScript} collected from a process that exited 0. */
export interface ScriptOutput {
  stdout: string;
  stderr: string;
}

/**
 * Runs the Node script `script` with `args` to its end, as `execFile` would but tethered (it and
 * its own Node children die with this process): resolves with its output once it exits 0;
 * rejects, with its stderr, on another exit or after `timeoutMs` (then it is SIGKILLed).
 */
export async function runScript(
  script: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<ScriptOutput> {
  const child = spawnTethered(process.execPath, [script, ...args], {
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs);
  // 'close', not 'exit': by then both pipes are drained.
  const [code, signal] = (await once(child, 'close').finally(() => clearTimeout(timer))) as [
    number | null,
    NodeJS.Signals | null,
  ];
  if (code === 0) return { stdout, stderr };
  const how = timedOut ? `timed out after ${opts.timeoutMs} ms` : `exited ${code ?? signal}`;
  throw new Error(`${script} ${args.join(' ')} ${how}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
}
