// One process of the gateway benchmark (bench/gateway.ts), by role: a backend service (tsmicro's
// native-transport bench service, or Moleculer's over its TCP transporter), an HTTP gateway in
// front of one (tsmicro's createGateway, or moleculer-web), or the floor (a bare fastify route
// that answers without any RPC). Prints `ready <address>`; `quit` on stdin (or stdin closing)
// stops it. Backends take the registry directory from BENCH_REGISTRY_DIR; gateways take their
// backend's address as argv[3].
import { createInterface } from 'node:readline';
import Fastify from 'fastify';
import { createGateway } from '../src/gateway/index.js';
import { createService, localRegistry } from '../src/index.js';
import type { Logger } from '../src/logger.js';
import { nativeTransport } from '../src/transport/native/native.js';
import { freePort, target } from './targets.js';

/** The gateways' one route: the bench service's echo, as go-micro's API maps it. */
export const GATEWAY_PATH = '/bench/Bench/Echo';

interface Running {
  address: string;
  close(): Promise<void>;
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

async function tsmicroGateway(): Promise<Running> {
  const registry = localRegistry({ dir: process.env.BENCH_REGISTRY_DIR! });
  const caller = createService({
    name: 'bench-gateway',
    registry,
    transport: nativeTransport(),
    logger: silent,
  });
  const gateway = createGateway({
    client: caller.client,
    registry,
    services: ['bench'],
    address: '127.0.0.1:0',
  });
  const address = await gateway.listen();
  return {
    address,
    close: async () => {
      await gateway.close();
      await caller.stop();
    },
  };
}

interface MoleculerBroker {
  start(): Promise<void>;
  stop(): Promise<void>;
  createService(schema: unknown): void;
  waitForServices(name: string): Promise<void>;
}

/** moleculer-web with Moleculer's TCP transporter, discovery pinned to the backend's address. */
async function moleculerGateway(backend: string): Promise<Running> {
  const { ServiceBroker } = (await import('moleculer')).default as unknown as {
    ServiceBroker: new (o: unknown) => MoleculerBroker;
  };
  const ApiGateway = (await import('moleculer-web')).default;
  const port = await freePort();
  const broker = new ServiceBroker({
    nodeID: `bench-web-${process.pid}`,
    logger: false,
    metrics: false,
    tracing: false,
    transporter: { type: 'TCP', options: { udpDiscovery: false, urls: [backend] } },
  });
  broker.createService({
    mixins: [ApiGateway],
    settings: {
      ip: '127.0.0.1',
      port,
      logRequest: null,
      logResponse: null,
      log4XXResponses: false,
      routes: [
        {
          path: '/',
          mappingPolicy: 'restrict',
          aliases: { [`POST ${GATEWAY_PATH}`]: 'bench.echo' },
          bodyParsers: { json: true },
        },
      ],
    },
  });
  await broker.start();
  await broker.waitForServices('bench');
  return { address: `127.0.0.1:${port}`, close: () => broker.stop() };
}

/** The floor: fastify answering the same route from the body, with no RPC behind it. */
async function floor(): Promise<Running> {
  const app = Fastify({ logger: false });
  app.post(GATEWAY_PATH, async (request) => request.body);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return { address: `127.0.0.1:${port}`, close: () => app.close() };
}

async function start(role: string, backend: string | undefined): Promise<Running> {
  switch (role) {
    case 'tsmicro-service':
      return target('tsmicro-native').server();
    case 'moleculer-service':
      return target('moleculer-tcp').server();
    case 'tsmicro-gateway':
      return tsmicroGateway();
    case 'moleculer-web':
      return moleculerGateway(backend!);
    case 'fastify-floor':
      return floor();
    default:
      throw new Error(`unknown role ${role}`);
  }
}

if (process.argv[2] !== undefined) {
  const running = await start(process.argv[2], process.argv[3]);
  console.log(`ready ${running.address}`);
  for await (const line of createInterface({ input: process.stdin })) if (line === 'quit') break;
  await Promise.race([running.close(), new Promise((r) => setTimeout(r, 2_000).unref())]);
  process.exit(0);
}
