import { Option, type Command } from 'commander';
import { InvalidOptionError, parseGoDuration } from '../index.js';
import type { Gateway, GatewayOptions } from '../gateway/index.js';
import { UsageError } from './errors.js';
import type { Run } from './program.js';
import { untilStopped } from './until-stopped.js';

/**
 * `tsmicro api`: go-micro's `micro api` — an HTTP gateway (tsmicro/gateway) in front of the
 * services named by `--services`, on the registry and transport of the global options, until
 * SIGINT/SIGTERM. Prints `listening <host:port>` once it serves. Each flag has a `MICRO_API_*`
 * variable, as go-micro's `micro api` flags have.
 */
export function register(program: Command, run: Run): void {
  program
    .command('api')
    .description('Serve an HTTP API gateway to the named services until stopped')
    .addOption(
      new Option('--address <host:port>', 'where to listen [MICRO_API_ADDRESS]')
        .env('MICRO_API_ADDRESS')
        .default('127.0.0.1:8080'),
    )
    .addOption(
      new Option(
        '--services <a,b>',
        'services the gateway exposes (required) [MICRO_API_SERVICES]',
      ).env('MICRO_API_SERVICES'),
    )
    .addOption(
      new Option(
        '--timeout <duration>',
        'deadline of a call whose request names none, e.g. 5s [MICRO_API_TIMEOUT]',
      ).env('MICRO_API_TIMEOUT'),
    )
    .addOption(
      new Option(
        '--cors <origins>',
        'origins allowed to call from a browser, comma-separated, or * [MICRO_API_CORS]',
      ).env('MICRO_API_CORS'),
    )
    .addOption(
      new Option('--body_limit <bytes>', 'largest request body [MICRO_API_BODY_LIMIT]').env(
        'MICRO_API_BODY_LIMIT',
      ),
    )
    .addOption(
      new Option(
        '--idempotent',
        'every endpoint may be retried after a timeout or a 500 [MICRO_API_IDEMPOTENT]',
      ).env('MICRO_API_IDEMPOTENT'),
    )
    .action((flags: ApiFlags, cmd: Command) =>
      run(cmd, async ({ ctx }) => {
        const services = list(flags.services);
        if (services.length === 0)
          throw new UsageError(
            '--services: name the services to expose, e.g. --services greeter,users',
          );
        const timeoutMs = flags.timeout === undefined ? undefined : duration(flags.timeout);
        const bodyBytes = flags.body_limit === undefined ? undefined : bytes(flags.body_limit);
        const origins = flags.cors === undefined ? undefined : list(flags.cors);
        // Loaded here: the other verbs run without fastify installed.
        const { createGateway } = await import('../gateway/index.js').catch((err: unknown) => {
          // Not installed beside tsmicro: what to install is the user's to fix, not a failure.
          if ((err as { code?: unknown }).code === 'ERR_TSMICRO_MISSING_PACKAGE')
            throw new UsageError(`api: ${(err as Error).message}`);
          throw err;
        });
        const gateway = gatewayFor(createGateway, {
          client: await ctx.client(),
          registry: await ctx.registry(),
          services,
          address: flags.address,
          logger: ctx.logger,
          defaults: {
            ...(timeoutMs === undefined ? {} : { timeoutMs }),
            ...(flags.idempotent ? { idempotent: true } : {}),
            ...(origins === undefined
              ? {}
              : { cors: { origins: origins.includes('*') ? '*' : origins } }),
          },
          ...(bodyBytes === undefined ? {} : { limits: { bodyBytes } }),
        });
        const address = await gateway.listen();
        process.stdout.write(`listening ${address}\n`);
        await untilStopped(new AbortController().signal);
        await gateway.close();
      }),
    );
}

/** `create(options)`, a refused service name reported as the flag that gave it. */
function gatewayFor(
  create: (options: GatewayOptions) => Gateway,
  options: GatewayOptions,
): Gateway {
  try {
    return create(options);
  } catch (err) {
    // The options the flags gave are the user's to fix: a usage error naming the flag.
    if (err instanceof InvalidOptionError && err.option.startsWith('services'))
      throw new UsageError(`--services: ${err.message}`);
    if (err instanceof InvalidOptionError && err.option === 'address')
      throw new UsageError(
        `--address: ${err.message.replace(/^invalid option address: /, '')} (port 0 for any free one)`,
      );
    throw err;
  }
}

interface ApiFlags {
  address: string;
  services?: string;
  timeout?: string;
  cors?: string;
  body_limit?: string;
  idempotent?: boolean;
}

function list(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function duration(text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : parseGoDuration(text);
  if (ms === undefined || !(ms >= 1))
    throw new UsageError(
      `--timeout: expected a duration like 5s or 500ms, got ${JSON.stringify(text)}`,
    );
  return Math.ceil(ms);
}

function bytes(text: string): number {
  if (!/^[1-9]\d*$/.test(text))
    throw new UsageError(
      `--body_limit: expected a whole number of bytes, got ${JSON.stringify(text)}`,
    );
  return Number(text);
}
