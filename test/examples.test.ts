import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { makeTempDir } from './helpers/tmp.js';

const run = promisify(execFile);
const example = (path: string): string => fileURLToPath(new URL(`../examples/${path}`, import.meta.url));

test('examples/greeter: the demo starts a server and a client process and prints the reply', async () => {
  await using dir = await makeTempDir('example-greeter');
  const { stdout } = await run(process.execPath, [example('greeter/demo.js'), 'Grace'], {
    env: { ...process.env, TSMICRO_REGISTRY_DIR: dir.path },
    timeout: 30_000,
  });
  assert.match(stdout, /\[server\] greeter ready at 127\.0\.0\.1:\d+/);
  assert.match(stdout, /\[client\] Hello Grace/);
});
