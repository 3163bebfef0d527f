// Keeps the instruction-count benchmark from rotting: one target, both sides, a few calls under
// valgrind's callgrind, checked for shape, never for a count a change could move.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { which } from '../helpers/servers.js';
import { makeTempDir } from '../helpers/tmp.js';

const runner = fileURLToPath(new URL('../../bench/instructions.js', import.meta.url));

function valgrindMissing(): string | false {
  if (which('valgrind') && which('callgrind_control')) return false;
  const reason = 'no valgrind (Debian package valgrind): .ci/services.sh installs it';
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  return reason;
}

test(
  'bench:instructions counts both processes of a target under callgrind',
  { skip: valgrindMissing() },
  async () => {
    await using dir = await makeTempDir('bench-instr');
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [runner],
        {
          env: {
            ...process.env,
            BENCH_INSTR_TARGETS: 'tsmicro-grpc',
            BENCH_INSTR_WARMUP: '50',
            BENCH_INSTR_CALLS: '50',
            BENCH_RESULTS_DIR: dir.path,
          },
          timeout: 150_000,
        },
        (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)),
      );
    });
    assert.match(stdout, /\| target \| server \| client \| both \|/);
    assert.match(stdout, /\| tsmicro-grpc \| \d+ k \| \d+ k \| \d+ k \|/);
    const files = readdirSync(dir.path).filter(
      (f) => f.startsWith('instructions-') && f.endsWith('.json'),
    );
    assert.equal(files.length, 1);
    const { results } = JSON.parse(readFileSync(path.join(dir.path, files[0]), 'utf8')) as {
      results: {
        target: string;
        side: string;
        instructionsPerCall: number;
        compilerPerCall: number;
      }[];
    };
    assert.deepEqual(
      results.map((r) => `${r.target} ${r.side}`),
      ['tsmicro-grpc server', 'tsmicro-grpc client'],
    );
    // A gRPC round trip through Node takes well over 10,000 instructions on either side; far fewer
    // would mean the calls were not counted (instrumentation never switched on).
    for (const r of results)
      assert.ok(r.instructionsPerCall > 10_000 && r.compilerPerCall >= 0, JSON.stringify(r));
  },
);
