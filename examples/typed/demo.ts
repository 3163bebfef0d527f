// Starts the typed greeter and its client as two processes on the embedded defaults (local
// registry, loopback, JSON) and prints what each says: `node demo.js Ada`.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));
const env = { ...process.env, TSMICRO_LOG_LEVEL: process.env.TSMICRO_LOG_LEVEL ?? 'warn' };

const server = spawn(process.execPath, [here('./server.js')], {
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
});
const serverLines = createInterface({ input: server.stdout });
try {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the server did not start within 15 s')),
      15_000,
    );
    serverLines.on('line', (line) => {
      console.log(`[server] ${line}`);
      if (line.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    server.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code}`));
    });
  });
  const client = spawn(process.execPath, [here('./client.js'), process.argv[2] ?? 'Ada'], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  createInterface({ input: client.stdout }).on('line', (line) => console.log(`[client] ${line}`));
  const [code] = (await once(client, 'exit')) as [number | null];
  process.exitCode = code === 0 ? 0 : 1;
} finally {
  if (server.exitCode === null && server.signalCode === null) {
    server.kill('SIGTERM');
    await once(server, 'exit');
  }
}
