import type { Command } from 'commander';
import { printLine } from './output.js';
import type { Run } from './program.js';
import { countOption, untilStopped } from './until-stopped.js';

/**
 * `tsmicro watch [service]`: registry changes as NDJSON lines `{action, service}` (create, update,
 * delete, with the service entry), until SIGINT/SIGTERM or `--count` events. Consul watches one
 * service at a time, so it needs the service.
 */
export function register(program: Command, run: Run): void {
  program
    .command('watch')
    .description('Print registry changes as NDJSON until stopped')
    .argument('[service]', 'only this service')
    .option('--count <n>', 'exit after n events')
    .action((service: string | undefined, flags: { count?: string }, cmd: Command) =>
      run(cmd, async ({ ctx }) => {
        const count = countOption(flags.count);
        const registry = await ctx.registry();
        const watcher = registry.watch(service === undefined ? {} : { service });
        const done = new AbortController();
        const stopped = untilStopped(done.signal).then(() => watcher.stop());
        process.stderr.write(`tsmicro: watching ${service ?? 'every service'}\n`);
        let seen = 0;
        try {
          for await (const event of watcher) {
            printLine({ action: event.action, service: event.service });
            if (count !== undefined && ++seen >= count) break;
          }
        } finally {
          done.abort();
          await stopped;
        }
      }),
    );
}
