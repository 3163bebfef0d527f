import type { Command } from 'commander';
import { InvalidOptionError, parseGoDuration, type CallOptions, type Codec } from '../index.js';
import { protoCodec } from '../codec/proto.js';
import { UsageError } from './errors.js';
import { collect, pairs } from './input.js';

/** The options `call` and `stream` share. */
export interface CallFlags {
  metadata?: string[];
  timeout?: string;
  address?: string[];
  contentType?: string;
  proto?: string[];
}

/** Content types whose bodies are raw bytes: read and printed as they are, not as JSON. */
const RAW_TYPES = new Set(['application/octet-stream', 'application/grpc+bytes']);

/** Adds `-m k=v`, `--timeout`, `--address`, `--content-type` and `--proto` to `cmd`. */
export function withCallOptions(cmd: Command): Command {
  return cmd
    .option('-m, --metadata <k=v>', 'request metadata; repeat for more', collect)
    .option(
      '--timeout <duration>',
      'budget of the call, e.g. 500ms, 5s (default: --client_request_timeout)',
    )
    .option(
      '--address <host:port>',
      'call this node, bypassing the registry; repeat for more',
      collect,
    )
    .option(
      '--content-type <type>',
      'application/json (default), application/grpc+proto (with --proto) or application/octet-stream (raw bytes)',
    )
    .option(
      '--proto <file>',
      '.proto file declaring the endpoint, for protobuf bodies; repeat for more',
      collect,
    );
}

/** What a call is made with, from its flags. */
export interface CallSetup {
  readonly codecs: readonly Codec[];
  readonly options: CallOptions;
  /** Bodies are raw bytes (stdin in, stdout out), not JSON. */
  readonly raw: boolean;
}

/** The codecs and call options the flags ask for; a bad flag is a usage error. */
export function callSetup(flags: CallFlags): CallSetup {
  const codecs: Codec[] = [];
  try {
    if (flags.proto) codecs.push(protoCodec({ protos: flags.proto }));
  } catch (err) {
    if (err instanceof InvalidOptionError)
      throw new UsageError(`--proto: ${err.message.replace(/^invalid option protos: /, '')}`);
    throw err;
  }
  const contentType =
    flags.contentType ?? (flags.proto ? 'application/grpc+proto' : 'application/json');
  const options: CallOptions = { contentType, metadata: pairs(flags.metadata, '--metadata') };
  if (flags.timeout !== undefined) {
    const ms = parseGoDuration(flags.timeout);
    if (ms === undefined || ms === 0)
      throw new UsageError(
        `--timeout: expected a Go duration such as 500ms or 5s, got ${JSON.stringify(flags.timeout)}`,
      );
    options.timeoutMs = ms;
  }
  if (flags.address) options.address = flags.address;
  return { codecs, options, raw: RAW_TYPES.has(contentType.toLowerCase()) };
}
