import type { Command } from 'commander';
import { collect, pairs, parseJson, readStdin } from './input.js';
import type { Run } from './program.js';

/**
 * `tsmicro publish <topic> [json | -]`: publishes one event (go-micro's envelope and headers, so
 * go-micro subscribers receive it too). With `-`, stdin holds one JSON value, or NDJSON: one
 * event per line.
 */
export function register(program: Command, run: Run): void {
  program
    .command('publish')
    .description('Publish an event on the broker')
    .argument('<topic>', 'topic')
    .argument('[message]', 'the event as JSON, or - to read it (or NDJSON lines) from stdin')
    .option('-m, --metadata <k=v>', 'event headers; repeat for more', collect)
    .action(
      (topic: string, message: string | undefined, flags: { metadata?: string[] }, cmd: Command) =>
        run(cmd, async ({ ctx }) => {
          const metadata = pairs(flags.metadata, '--metadata');
          const events =
            message === '-'
              ? events_(await readStdin())
              : [parseJson(message ?? '{}', 'the message')];
          const client = await ctx.client([], await ctx.broker());
          for (const event of events) await client.publish(topic, event, { metadata });
        }),
    );
}

/** One JSON value, or one per line. */
function events_(text: string): unknown[] {
  try {
    return [JSON.parse(text) as unknown];
  } catch {
    return text
      .split('\n')
      .map((line, i) => [line, i] as const)
      .filter(([line]) => line.trim() !== '')
      .map(([line, i]) => parseJson(line, `stdin line ${i + 1}`));
  }
}
