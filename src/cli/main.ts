#!/usr/bin/env node
import { CommanderError } from 'commander';
import { buildProgram } from './program.js';
import { USAGE_EXIT } from './errors.js';

// The `tsmicro` command (package.json "bin"). Exit codes: 0 done, 1 a failure the system
// reported (its MicroError JSON on stderr), 2 a usage error (one line on stderr).
const { program, exitCode } = buildProgram();
let code: number;
try {
  await program.parseAsync(process.argv);
  code = exitCode();
} catch (err) {
  if (!(err instanceof CommanderError)) throw err;
  // Help and version were asked for; anything else commander refused is a usage error, whose
  // one line it has already printed.
  code = err.exitCode === 0 ? 0 : USAGE_EXIT;
}
process.exitCode = code;
// Exit once the work is done even if a library left a handle open (a gRPC channel closing).
setTimeout(() => process.exit(code), 1_000).unref();
