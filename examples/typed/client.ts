// Calls the typed greeter: `node client.js Ada`. A wrong endpoint, field or response use here is a
// compile error; what the compiler cannot see (a value from outside) the server refuses with a 400
// naming the field.
import { clientFor, createService, MicroError } from 'tsmicro';
import { Greeter } from './contract.js';

const service = createService({ name: 'typed-greeter-client' });
const greeter = clientFor(Greeter, service.client);

try {
  const { msg } = await greeter.Greeter.Hello({ name: process.argv[2] ?? 'World', langs: ['fr'] });
  console.log(msg);

  const countdown = await greeter.Greeter.Countdown({ from: 3 }, { timeoutMs: 2000 });
  const ns: number[] = [];
  for await (const { n } of countdown) ns.push(n);
  console.log(`countdown ${ns.join(' ')}`);

  // A request from outside the type system (parsed JSON, say): refused before the handler runs.
  const untrusted = JSON.parse('{"name": 42}') as { name: string };
  await greeter.Greeter.Hello(untrusted).catch((err: unknown) => {
    if (!MicroError.is(err)) throw err;
    console.log(`refused ${err.code}: ${err.detail}`);
  });
  // ...and the server goes on serving.
  console.log((await greeter.Greeter.Hello({ name: 'again' })).msg);
} finally {
  await service.stop();
}
