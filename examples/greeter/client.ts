// Calls the greeter by name: `node client.js Ada`. Knows nothing of the server but "greeter".
import { createService, MicroError } from 'tsmicro';

const name = process.argv[2] ?? 'World';
const service = createService({ name: 'greeter-client' });

try {
  const rsp = await service.client.call<{ msg: string }>(
    'greeter',
    'Greeter.Hello',
    { name },
    { timeoutMs: 2000 },
  );
  console.log(rsp.msg);
} catch (err) {
  if (!MicroError.is(err)) throw err;
  console.error(`call failed: ${err.code} ${err.detail}`);
  process.exitCode = 1;
} finally {
  await service.stop();
}
