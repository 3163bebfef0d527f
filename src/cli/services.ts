import type { Command } from 'commander';
import { printJson, printTable } from './output.js';
import type { Run } from './program.js';

/** `tsmicro services`: every service in the registry, with its versions. */
export function register(program: Command, run: Run): void {
  program
    .command('services')
    .description('List the services in the registry, with their versions')
    .action((_opts, cmd: Command) =>
      run(cmd, async ({ ctx, output }) => {
        const registry = await ctx.registry();
        const versions = new Map<string, Set<string>>();
        for (const s of await registry.listServices()) {
          const set = versions.get(s.name) ?? new Set<string>();
          if (s.version) set.add(s.version);
          versions.set(s.name, set);
        }
        const list = [...versions]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([name, v]) => ({ name, versions: [...v].sort() }));
        if (output === 'json') printJson(list);
        else
          printTable(
            ['NAME', 'VERSIONS'],
            list.map((s) => [s.name, s.versions.join(', ')]),
          );
      }),
    );
}
