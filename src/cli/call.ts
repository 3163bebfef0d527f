import type { Command } from 'commander';
import { callSetup, withCallOptions, type CallFlags } from './call-options.js';
import { messageArg, readStdin } from './input.js';
import { printJson } from './output.js';
import type { Run } from './program.js';

/**
 * `tsmicro call <service> <Handler.Method> [json | -]`: one request, its response printed as
 * JSON; a MicroError answer is printed as its JSON on stderr (exit 1).
 */
export function register(program: Command, run: Run): void {
  withCallOptions(
    program
      .command('call')
      .description('Call an endpoint with one request and print the response')
      .argument('<service>', 'service name')
      .argument('<endpoint>', 'Handler.Method')
      .argument('[message]', 'the request as JSON, or - to read it from stdin', undefined),
  ).action(
    (
      service: string,
      endpoint: string,
      message: string | undefined,
      flags: CallFlags,
      cmd: Command,
    ) =>
      run(cmd, async ({ ctx }) => {
        const setup = callSetup(flags);
        const request = setup.raw
          ? Buffer.from(message === '-' ? await readStdin() : (message ?? ''), 'utf8')
          : await messageArg(message);
        const client = await ctx.client(setup.codecs);
        const response = await client.call(service, endpoint, request, setup.options);
        if (setup.raw && response instanceof Uint8Array) process.stdout.write(response);
        else printJson(response);
      }),
  );
}
