import type { Command } from 'commander';
import { callSetup, withCallOptions, type CallFlags } from './call-options.js';
import { UsageError } from './errors.js';
import { ndjsonIn } from './input.js';
import { printLine } from './output.js';
import type { Run } from './program.js';

/**
 * `tsmicro stream <service> <Handler.Method>`: each NDJSON line of stdin is sent as a message
 * (the end of stdin closes the sending side), each message received is printed as an NDJSON line
 * as it comes. One request line on stdin calls a server stream; many, a client or bidi stream.
 */
export function register(program: Command, run: Run): void {
  withCallOptions(
    program
      .command('stream')
      .description('Open a stream: NDJSON messages in on stdin, NDJSON messages out on stdout')
      .argument('<service>', 'service name')
      .argument('<endpoint>', 'Handler.Method'),
  ).action((service: string, endpoint: string, flags: CallFlags, cmd: Command) =>
    run(cmd, async ({ ctx }) => {
      const setup = callSetup(flags);
      const client = await ctx.client(setup.codecs);
      const stream = await client.stream(service, endpoint, setup.options);
      let inputError: UsageError | undefined;
      void (async () => {
        try {
          for await (const message of ndjsonIn()) await stream.send(message);
          stream.closeSend();
        } catch (err) {
          // A send fails when the stream has ended: the receiving loop reports why.
          if (!(err instanceof UsageError)) return;
          inputError = err;
          stream.cancel();
        }
      })();
      try {
        for await (const message of stream) printLine(message);
      } catch (err) {
        // A bad input line cancelled the stream: that line is the error to report.
        throw inputError ?? err;
      } finally {
        // The server may end the stream before stdin ends: stop reading it.
        process.stdin.destroy();
      }
      if (inputError) throw inputError;
    }),
  );
}
