import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * A fresh directory of its own under the OS temp dir; `await using` removes it (recursively) at
 * scope end.
 */
export interface TempDir extends AsyncDisposable {
  readonly path: string;
}

/** Creates a unique temp directory named `<prefix>XXXXXX`. */
export async function makeTempDir(prefix = 'tsmicro-test-'): Promise<TempDir> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return {
    path: dir,
    async [Symbol.asyncDispose]() {
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}
