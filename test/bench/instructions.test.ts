// Keeps the instruction-count benchmark from rotting: one target, both sides, a few calls under
// valgrind's callgrind, checked for shape and for sane counts, never for a count a change could
// move. Everything here holds on a loaded machine too: each call's deadline is generous (the
// runner's default) and the only bounds are on instructions, which do not depend on speed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScript } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/tmp.js';
import { which } from '../helpers/which.js';

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
    const { stdout } = await runScript(runner, [], {
      env: {
        ...process.env,
        BENCH_INSTR_TARGETS: 'tsmicro-grpc',
        BENCH_INSTR_WARMUP: '50',
        BENCH_INSTR_CALLS: '50',
        BENCH_RESULTS_DIR: dir.path,
      },
      // Inside the 600 s npm test gives the whole file; the run took 67-80 s at a load of 9 on 2
      // cores.
      timeoutMs: 540_000,
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
    // A gRPC round trip through Node takes well over 10,000 instructions on either side (a few
    // hundred thousand, after 50 calls of warm-up); far fewer would mean the calls were not counted
    // (instrumentation never switched on), far more (100 M, the cost of starting Node) that the
    // count covered more than the calls, or too few calls were counted.
    for (const r of results) {
      assert.ok(r.instructionsPerCall > 10_000, JSON.stringify(r));
      assert.ok(r.instructionsPerCall < 100_000_000, JSON.stringify(r));
      assert.ok(r.compilerPerCall >= 0 && Number.isFinite(r.compilerPerCall), JSON.stringify(r));
    }
  },
);
