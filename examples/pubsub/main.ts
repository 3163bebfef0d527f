// Pub/sub in one process: `node main.js`. Two `worker` instances share a queue group (each event
// goes to one of them), an `audit` service receives every event (broadcast), and a publisher sends
// a few events with metadata. On the in-process broker by default; with NATS_URL set, the same
// program runs on NATS (`tsmicro/broker/nats`), where the services could as well be separate
// processes on separate hosts.
import { createService, memoryBroker, memoryRegistry, memoryTransport, type Broker } from 'tsmicro';
import { natsBroker } from 'tsmicro/broker/nats';

interface OrderPlaced {
  order: number;
  item: string;
}
const EVENTS = 6;

// One shared in-process broker, or one NATS connection per service as separate processes would
// have.
const shared = memoryBroker();
const brokers: Broker[] = [];
const broker = (): Broker => {
  if (!process.env.NATS_URL) return shared;
  const b = natsBroker({ servers: process.env.NATS_URL });
  brokers.push(b);
  return b;
};
const registry = memoryRegistry();
const transport = memoryTransport();
const base = { registry, transport, drainDelayMs: 0 };

let received = 0;
let allReceived!: () => void;
const done = new Promise<void>((resolve) => {
  allReceived = resolve;
});
const count = (): void => {
  if (++received === EVENTS * 2) allReceived();
};

const workers = ['worker-1', 'worker-2'].map((id) => {
  const worker = createService({ name: 'worker', broker: broker(), ...base });
  worker.subscribe<OrderPlaced>(
    'shop.order.placed',
    async (event, ctx) => {
      console.log(
        `${id} packs order ${event.order} (${event.item}) for tenant ${ctx.metadata.tenant}`,
      );
      count();
    },
    { queue: 'workers' },
  );
  return worker;
});
const audit = createService({ name: 'audit', broker: broker(), ...base });
audit.subscribe<OrderPlaced>('shop.order.placed', async (event) => {
  console.log(`audit saw order ${event.order}`);
  count();
});
const shop = createService({ name: 'shop', broker: broker(), ...base });

const services = [...workers, audit, shop];
try {
  for (const s of services) await s.start();
  for (let order = 1; order <= EVENTS; order++) {
    await shop.client.publish(
      'shop.order.placed',
      { order, item: `book #${order}` } satisfies OrderPlaced,
      { metadata: { tenant: 'acme' } },
    );
  }
  const timeout = setTimeout(() => {
    console.error(`only ${received} of ${EVENTS * 2} deliveries arrived`);
    process.exit(1);
  }, 15_000);
  await done;
  clearTimeout(timeout);
  console.log(
    `done: ${EVENTS} events, each packed once and audited once (broker: ${services[0].server.node?.metadata.broker})`,
  );
} finally {
  for (const s of services) await s.stop();
  for (const b of brokers) await b.disconnect();
}
