// The typed greeter: `node server.js`. Its handlers are checked against the contract at compile
// time, and every request against its schema before a handler sees it.
import { createService, implement, publisherFor, subscribeTo } from 'tsmicro';
import { Greeted, Greeter } from './contract.js';

const service = createService({
  name: Greeter.name,
  afterStart: [() => console.log(`typed-greeter ready at ${service.server.node?.address}`)],
});
const greeted = publisherFor(Greeted, service.client);

implement(service, Greeter, {
  Greeter: {
    async Hello({ name, langs }) {
      await greeted.publish({ name });
      return { msg: `${langs?.[0] === 'fr' ? 'Bonjour' : 'Hello'} ${name}` };
    },
    async Countdown({ from }, stream) {
      for (let n = from; n >= 0; n--) await stream.send({ n });
    },
  },
});
subscribeTo(service, Greeted, ({ name }) => console.log(`greeted ${name}`));

await service.run();
