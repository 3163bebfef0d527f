import { Command, Option } from 'commander';
import { SETTINGS, type Setting } from '../index.js';
import { cliContext, type CliContext } from './context.js';
import { report } from './errors.js';
import { collect } from './input.js';
import { outputFormat, type OutputFormat } from './output.js';
import { register as apiVerb } from './api.js';
import { register as callVerb } from './call.js';
import { register as describeVerb } from './describe.js';
import { register as healthVerb } from './health.js';
import { register as publishVerb } from './publish.js';
import { register as servicesVerb } from './services.js';
import { register as streamVerb } from './stream.js';
import { register as subscribeVerb } from './subscribe.js';
import { register as watchVerb } from './watch.js';

/**
 * The `tsmicro` command: its global options (the settings a client uses, with the same flags and
 * `MICRO_*` variables as services, so `MICRO_REGISTRY=consul tsmicro services` works) and one
 * verb per file. Built on commander; every verb runs through {@link Run}, which makes the
 * context, ends it, and turns a failure into its exit code.
 */

/** The settings that mean something to a command that only calls, publishes and looks up. */
const CLIENT_SETTINGS = new Set([
  'registry',
  'registry_address',
  'broker',
  'broker_address',
  'transport',
  'client_request_timeout',
  'client_retries',
  'client_pool_ttl',
]);

/** What a verb's action gets. */
export interface VerbRun {
  readonly ctx: CliContext;
  readonly output: OutputFormat;
}

/** Runs a verb's body with its context; resolves with the exit code it ends with. */
export type Run = (cmd: Command, body: (run: VerbRun) => Promise<number | void>) => Promise<void>;

/** The program, and the exit code the verb that ran left. */
export function buildProgram(): { program: Command; exitCode: () => number } {
  let code = 0;
  const program = new Command('tsmicro')
    .description('Look up, call, stream to and publish to tsmicro and go-micro services')
    .exitOverride()
    .configureOutput({
      // One line, as every usage error: commander puts its suggestion on a line of its own.
      outputError: (text, write) =>
        write(
          `tsmicro: ${text
            .replace(/^error: /, '')
            .trim()
            .replace(/\s*\n\s*/g, ' ')}\n`,
        ),
    })
    .addOption(
      new Option(
        '-o, --output <format>',
        'table or json (default: table on a terminal, else json)',
      ),
    );
  for (const s of SETTINGS.filter((x) => CLIENT_SETTINGS.has(x.flag)))
    program.addOption(
      new Option(
        `--${s.flag} <${valueName(s)}>`,
        `${s.description} [${s.env}] (default: ${s.default})`,
      ).argParser(collect),
    );

  const run: Run = async (cmd, body) => {
    const opts = cmd.optsWithGlobals<Record<string, unknown>>();
    let ctx: CliContext | undefined;
    try {
      const flags: string[] = [];
      for (const s of SETTINGS)
        for (const v of (opts[s.flag] as string[] | undefined) ?? [])
          flags.push(`--${s.flag}=${v}`);
      ctx = cliContext(flags);
      code = (await body({ ctx, output: outputFormat(opts.output as string | undefined) })) ?? 0;
    } catch (err) {
      code = report(err);
    } finally {
      await ctx?.close();
    }
  };
  for (const verb of [
    servicesVerb,
    describeVerb,
    callVerb,
    streamVerb,
    publishVerb,
    subscribeVerb,
    watchVerb,
    healthVerb,
    apiVerb,
  ])
    verb(program, run);
  return { program, exitCode: () => code };
}

function valueName(s: Setting): string {
  if (s.kind === 'choice') return (s.choices ?? []).join('|');
  return { list: 'a,b', duration: 'duration', count: 'n' }[s.kind as string] ?? 'value';
}
