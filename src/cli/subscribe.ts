import type { Command } from 'commander';
import { printLine } from './output.js';
import type { Run } from './program.js';
import { countOption, untilStopped } from './until-stopped.js';

/**
 * `tsmicro subscribe <topic> [--queue q]`: each event as an NDJSON line `{topic, header, body}`
 * (a JSON body parsed, any other as base64), until SIGINT/SIGTERM or `--count` events. Says on
 * stderr when the subscription is in place.
 */
export function register(program: Command, run: Run): void {
  program
    .command('subscribe')
    .description('Print the events of a topic as NDJSON until stopped')
    .argument('<topic>', 'topic')
    .option('--queue <group>', 'join this queue group: each event goes to one member')
    .option('--count <n>', 'exit after n events')
    .action((topic: string, flags: { queue?: string; count?: string }, cmd: Command) =>
      run(cmd, async ({ ctx }) => {
        const count = countOption(flags.count);
        const broker = await ctx.broker();
        const done = new AbortController();
        let seen = 0;
        const sub = await broker.subscribe(
          topic,
          async (message, from) => {
            if (done.signal.aborted) return;
            printLine({
              topic: from,
              header: message.header,
              body: body(message.header, message.body),
            });
            if (count !== undefined && ++seen >= count) done.abort();
          },
          flags.queue === undefined ? {} : { queue: flags.queue },
        );
        process.stderr.write(
          `tsmicro: subscribed to ${topic}${flags.queue ? ` (queue ${flags.queue})` : ''}\n`,
        );
        await untilStopped(done.signal);
        await sub.unsubscribe();
      }),
    );
}

/** A JSON body as its value; anything else (or JSON that does not parse) as base64. */
function body(header: Record<string, string>, bytes: Uint8Array): unknown {
  const type = Object.entries(header).find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? '';
  if (/json/i.test(type))
    try {
      return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
    } catch {
      // fall through: shown as it came
    }
  return Buffer.from(bytes).toString('base64');
}
