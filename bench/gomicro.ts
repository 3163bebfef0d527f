// go-micro itself as a benchmark target (`go-micro`): the Go program in bench/gomicro, built from
// the Go module proxy by .ci/gomicro-bench.sh (cached by the hash of its sources).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The target's name in the tables. */
export const GO_MICRO = 'go-micro';

let built: Promise<string> | undefined;

/**
 * The path of the go-micro bench binary, built now if the cache has none for these sources;
 * rejects with the reason (no Go toolchain, a failed build) when there is none to run.
 */
export function goMicroBinary(): Promise<string> {
  built ??= new Promise((resolve, reject) => {
    execFile(
      path.join(root, '.ci', 'gomicro-bench.sh'),
      [],
      // Cold, the build downloads go-micro's modules; warm it takes seconds.
      { timeout: 15 * 60_000, maxBuffer: 16 * 2 ** 20 },
      (err, stdout, stderr) => {
        const bin = stdout.trim().split('\n').at(-1);
        if (err || !bin) {
          const why = (stderr.trim().split('\n').at(-1) ?? '') || (err?.message ?? 'no output');
          reject(new Error(`go-micro not built (${why})`));
        } else resolve(bin);
      },
    );
  });
  return built;
}
