// A benchmark's child process (a server, a client, a driver) whose stdout lines can be awaited;
// shared by the runners (bench/run.ts, bench/instructions.ts).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { tetherArgs } from '../test/helpers/tether.js';

export interface ChildOptions {
  env: NodeJS.ProcessEnv;
  /** How long {@link Child.line} waits for a line. */
  timeoutMs: number;
  /** Sees every stdout line first; returning true keeps the line from {@link Child.line}. */
  onLine?: (line: string) => boolean;
}

export interface Child {
  proc: ChildProcessWithoutNullStreams;
  /**
   * The first stdout line matching `re`, printed already or to come, which no earlier call
   * took; rejects when the process exits first or after `timeoutMs`.
   */
  line: (re: RegExp) => Promise<RegExpMatchArray>;
  /** Settles once the process has exited. */
  exited: Promise<void>;
  /** The last 4,000 characters the process wrote to stderr. */
  stderr(): string;
}

export function startChild(command: string, args: string[], opts: ChildOptions): Child {
  // Dies with the runner, however it dies (a benchmark server left behind would skew the next
  // run). The kernel's parent-death signal only: the tests' Node-side guard (a timer) would run
  // inside the instructions being counted.
  const [cmd, argv] = tetherArgs(command, args);
  const proc = spawn(cmd, argv, { env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr.setEncoding('utf8').on('data', (d: string) => {
    err = (err + d).slice(-4000);
  });
  const seen: string[] = [];
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  createInterface({ input: proc.stdout }).on('line', (l) => {
    if (opts.onLine?.(l)) return;
    for (let i = 0; i < waiters.length; i++) {
      const m = l.match(waiters[i].re);
      if (m) {
        waiters[i].resolve(m);
        waiters.splice(i, 1);
        return;
      }
    }
    seen.push(l);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const name = scriptName(args) ?? command;
  const line = (re: RegExp): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const i = seen.findIndex((l) => re.test(l));
      if (i >= 0) {
        resolve(seen.splice(i, 1)[0].match(re)!);
        return;
      }
      if (proc.exitCode !== null || proc.signalCode !== null) {
        reject(new Error(`${name} exited before printing ${re}: ${err}`));
        return;
      }
      const timer = setTimeout(
        () => reject(new Error(`${name}: timed out waiting for ${re}: ${err}`)),
        opts.timeoutMs,
      );
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${name} exited before printing ${re}: ${err}`));
      });
      waiters.push({
        re,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  return { proc, line, exited, stderr: () => err };
}

/** The script a child runs, to name it in errors. */
function scriptName(args: string[]): string | undefined {
  return args
    .find((a) => a.endsWith('.js'))
    ?.split('/')
    .at(-1);
}
