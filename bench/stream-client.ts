// One stream benchmark client process: first the slow reader, if asked, which prints
// `slow-begin` and `slow-end <client memory growth bytes>` and waits for a `go` line on stdin
// after each (the runner samples the server's memory meanwhile; first, so that no earlier point's
// garbage is in its numbers); then every point it is given on one target, each printing `warm`
// and waiting for a `go` line before a warm-up of its own, then `mark` and waiting for a `go`
// line before the measured window (the runner starts the server's CPU window meanwhile), then
// one JSON line per point. Started with --expose-gc.
import { createInterface } from 'node:readline';
import { gcMemory } from './stream-memory.js';
import { message, streamTarget } from './stream-targets.js';

/** One measurement: a mode, a message size and a number of concurrent streams. */
export interface StreamPointSpec {
  mode: 'echo' | 'pour';
  size: number;
  streams: number;
}

/** What the client asks of the slow reader. */
export interface SlowSpec {
  size: number;
  reads: number;
  pauseMs: number;
}

const [name, address, pointsArg, warmupArg, secondsArg, slowArg] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string | undefined,
];
const points = JSON.parse(pointsArg) as StreamPointSpec[];
const warmupMs = Number(warmupArg) * 1000;
const ms = Number(secondsArg) * 1000;
const client = await streamTarget(name).client(address);
const stdin = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

/** All streams of a point for `window` ms; the count and how long until the last one ended. */
async function run(p: StreamPointSpec, window: number): Promise<{ messages: number; ms: number }> {
  const t0 = performance.now();
  const until = Date.now() + window;
  const counts = await Promise.all(
    Array.from({ length: p.streams }, () =>
      p.mode === 'echo' ? client.echo(message(p.size), until) : client.pour(p.size, window),
    ),
  );
  return { messages: counts.reduce((a, b) => a + b, 0), ms: performance.now() - t0 };
}

if (slowArg) {
  const slow = JSON.parse(slowArg) as SlowSpec;
  let reads = 0;
  // The baseline is taken before the stream opens: what the stream holds at the end is all growth.
  const before = gcMemory();
  console.log('slow-begin');
  await stdin.next();
  const pause = async (): Promise<void> => {
    if (reads++ > 0) await new Promise((r) => setTimeout(r, slow.pauseMs));
    if (reads === slow.reads) {
      console.log(`slow-end ${gcMemory() - before}`);
      await stdin.next();
    }
  };
  try {
    await client.slow(slow.size, 60_000, slow.reads, pause);
  } catch (err) {
    console.log(`slow-error ${String(err).split('\n')[0].slice(0, 300)}`);
  }
}
for (const p of points) {
  try {
    // The runner says when: the other targets' processes are idle meanwhile.
    console.log('warm');
    await stdin.next();
    await run(p, warmupMs);
    // The runner starts the server's CPU window, then says go.
    console.log('mark');
    await stdin.next();
    const cpu0 = process.cpuUsage();
    const r = await run(p, ms);
    const cpu = process.cpuUsage(cpu0);
    console.log(
      JSON.stringify({
        ...p,
        clientCpuMs: (cpu.user + cpu.system) / 1000,
        messages: r.messages,
        elapsedMs: r.ms,
        perSec: r.messages / (r.ms / 1000),
        mbPerSec: (r.messages * p.size) / 2 ** 20 / (r.ms / 1000),
      }),
    );
  } catch (err) {
    console.log(JSON.stringify({ ...p, error: String(err).split('\n')[0].slice(0, 300) }));
  }
}

console.log('done');
await Promise.race([client.close(), new Promise((r) => setTimeout(r, 2_000).unref())]);
process.exit(0);
