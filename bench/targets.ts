// The systems compared by the benchmark, each as a server half and a client half that run in
// separate processes (bench/server.ts, bench/client.ts). Every target echoes the same payload:
// a JSON object of about 100 bytes (raw targets send its bytes as they are).
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { z } from 'zod';
import {
  clientFor,
  createService,
  defineService,
  implement,
  localRegistry,
  ofType,
  type Service,
  type Transport,
} from '../src/index.js';
import { grpcTransport } from '../src/transport/grpc/grpc.js';
import { nativeTransport } from '../src/transport/native/native.js';
import { pino } from 'pino';

/**
 * Each call's deadline, ms: BENCH_CALL_TIMEOUT_MS, else 5 s (go-micro's default). Under callgrind
 * a process runs ~50× slower and stands still while callgrind dumps its counts, so on a loaded
 * machine 5 s is not always enough; bench/instructions.ts gives its processes a generous one.
 */
const CALL_TIMEOUT_MS = Number(process.env.BENCH_CALL_TIMEOUT_MS ?? 5_000);

/** The request every target sends: ~100 bytes once JSON-encoded. */
export const PAYLOAD = { id: 42, name: 'bench', data: 'x'.repeat(64) };
export const PAYLOAD_BYTES = Buffer.from(JSON.stringify(PAYLOAD));

export type TargetName =
  | 'tcp-floor'
  | 'tsmicro-native'
  | 'tsmicro-native-contract'
  | 'tsmicro-native-zod'
  | 'tsmicro-grpc'
  | 'tsmicro-grpc-explicit'
  | 'raw-grpc-js'
  | 'raw-grpc-js-gomicro'
  | 'moleculer-tcp'
  | 'moleculer-nats';
export const TARGETS: readonly TargetName[] = [
  'tcp-floor',
  'tsmicro-native',
  'tsmicro-native-contract',
  'tsmicro-native-zod',
  'tsmicro-grpc',
  'tsmicro-grpc-explicit',
  'raw-grpc-js',
  'raw-grpc-js-gomicro',
  'moleculer-tcp',
  'moleculer-nats',
];

export interface ServerHalf {
  /** What the client needs to reach the server (an address, a registry dir, a namespace). */
  address: string;
  close(): Promise<void>;
}

export interface ClientHalf {
  /** One request/response round trip. */
  call(): Promise<unknown>;
  close(): Promise<void>;
}

/** Binds a raw grpc-js server to a free loopback port: the server half of a raw grpc-js target. */
export async function listenRawGrpc(server: grpc.Server): Promise<ServerHalf> {
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    close: () => new Promise((r) => server.tryShutdown(() => r())),
  };
}

interface Target {
  server(): Promise<ServerHalf>;
  client(address: string): Promise<ClientHalf>;
}

const silent = () => pino({ level: 'silent' });

/** The bench endpoint as a contract: TypeScript types only, or Zod schemas (validated). */
const BENCH_CONTRACTS = {
  types: defineService('bench', {
    Bench: { Echo: { request: ofType<typeof PAYLOAD>(), response: ofType<typeof PAYLOAD>() } },
  }),
  zod: defineService('bench', {
    Bench: {
      Echo: {
        request: z.object({ id: z.number(), name: z.string(), data: z.string() }),
        response: z.object({ id: z.number(), name: z.string(), data: z.string() }),
      },
    },
  }),
};

/**
 * A tsmicro service over `transport`, found through a local registry directory shared by both
 * processes. `implicitContext: false` serves without AsyncLocalStorage (the server's option).
 * With `contract`, the server implements the endpoint through a contract and the client calls it
 * through the contract's typed client (for `zod`, both sides validate the request).
 */
function tsmicroTarget(
  makeTransport: () => Transport,
  implicitContext = true,
  contract?: keyof typeof BENCH_CONTRACTS,
): Target {
  return {
    async server() {
      const dir = process.env.BENCH_REGISTRY_DIR!;
      const service = createService({
        name: 'bench',
        registry: localRegistry({ dir }),
        transport: makeTransport(),
        logger: silent(),
        drainDelayMs: 0,
        implicitContext,
      });
      if (contract)
        implement(service, BENCH_CONTRACTS[contract], { Bench: { Echo: async (req) => req } });
      else
        service.handle('Bench', {
          async Echo(req: unknown) {
            return req;
          },
        });
      await service.start();
      return { address: dir, close: () => service.stop() };
    },
    async client(dir) {
      const service: Service = createService({
        name: 'bench-client',
        registry: localRegistry({ dir }),
        transport: makeTransport(),
        logger: silent(),
        timeoutMs: CALL_TIMEOUT_MS,
      });
      const client = service.client;
      if (contract) {
        const typed = clientFor(BENCH_CONTRACTS[contract], client, {
          validate: contract === 'zod',
        });
        return { call: () => typed.Bench.Echo(PAYLOAD), close: () => service.stop() };
      }
      return {
        call: () => client.call('bench', 'Bench.Echo', PAYLOAD),
        close: () => service.stop(),
      };
    },
  };
}

/**
 * The floor: Node TCP with the least framing that still multiplexes (u32 length, u32 id, body)
 * over one connection, the server echoing each frame.
 */
const tcpFloor: Target = {
  async server() {
    const server = net.createServer({ noDelay: true }, (socket) => {
      let pending: Buffer | undefined;
      socket.on('data', (chunk: Buffer) => {
        pending = eachFrame(pending, chunk, (buf, off, end) => {
          socket.write(buf.subarray(off, end));
        });
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
      close: () => new Promise((r) => server.close(() => r())),
    };
  },
  async client(address) {
    const [host, port] = address.split(':') as [string, string];
    const socket = net.connect({ host, port: Number(port), noDelay: true });
    await new Promise((resolve) => socket.once('connect', resolve));
    const waiting = new Map<number, () => void>();
    let nextId = 0;
    let pending: Buffer | undefined;
    socket.on('data', (chunk: Buffer) => {
      pending = eachFrame(pending, chunk, (buf, off) => {
        const id = buf.readUInt32BE(off + 4);
        const done = waiting.get(id);
        waiting.delete(id);
        done?.();
      });
    });
    return {
      call: () =>
        new Promise<void>((resolve) => {
          const id = nextId++ >>> 0;
          const frame = Buffer.allocUnsafe(8 + PAYLOAD_BYTES.length);
          frame.writeUInt32BE(4 + PAYLOAD_BYTES.length, 0);
          frame.writeUInt32BE(id, 4);
          PAYLOAD_BYTES.copy(frame, 8);
          waiting.set(id, resolve);
          socket.write(frame);
        }),
      close: async () => {
        socket.destroy();
      },
    };
  },
};

/**
 * Calls `onFrame` for each whole `u32 length | id | body` frame in `pending` + `chunk` (the
 * frame is `buf[off, end)`), and returns the bytes of an incomplete frame left over.
 */
function eachFrame(
  pending: Buffer | undefined,
  chunk: Buffer,
  onFrame: (buf: Buffer, off: number, end: number) => void,
): Buffer | undefined {
  const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
  let off = 0;
  while (buf.length - off >= 8) {
    const end = off + 4 + buf.readUInt32BE(off);
    if (end > buf.length) break;
    onFrame(buf, off, end);
    off = end;
  }
  return off < buf.length ? buf.subarray(off) : undefined;
}

const identity = (b: Buffer): Buffer => b;

/**
 * @grpc/grpc-js with no framework around it: bytes in, the same bytes out. With `goMicroDialect`
 * each call also carries what any go-micro gRPC client sends (and tsmicro's too): a deadline
 * (as `grpc-timeout`; 5 s unless BENCH_CALL_TIMEOUT_MS) and the `timeout` and `x-content-type`
 * metadata. That separates what
 * the protocol costs grpc-js itself from what tsmicro adds.
 */
function rawGrpc(goMicroDialect: boolean): Target {
  return {
    async server() {
      const server = new grpc.Server();
      server.register(
        '/bench.Bench/Echo',
        (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
          callback(null, call.request),
        identity,
        identity,
        'unary',
      );
      return listenRawGrpc(server);
    },
    async client(address) {
      const client = new grpc.Client(address, grpc.credentials.createInsecure());
      const plain = (): Promise<unknown> =>
        new Promise((resolve, reject) => {
          client.makeUnaryRequest(
            '/bench.Bench/Echo',
            identity,
            identity,
            PAYLOAD_BYTES,
            (err, value) => (err ? reject(err) : resolve(value)),
          );
        });
      const dialect = (): Promise<unknown> =>
        new Promise((resolve, reject) => {
          const md = new grpc.Metadata();
          md.set('timeout', String(CALL_TIMEOUT_MS * 1_000_000));
          md.set('x-content-type', 'application/grpc+json');
          client.makeUnaryRequest(
            '/bench.Bench/Echo',
            identity,
            identity,
            PAYLOAD_BYTES,
            md,
            { deadline: Date.now() + CALL_TIMEOUT_MS },
            (err, value) => (err ? reject(err) : resolve(value)),
          );
        });
      return { call: goMicroDialect ? dialect : plain, close: async () => client.close() };
    },
  };
}

interface MoleculerBroker {
  start(): Promise<void>;
  stop(): Promise<void>;
  createService(schema: unknown): void;
  waitForServices(name: string): Promise<void>;
  call(action: string, params: unknown): Promise<unknown>;
}

async function moleculerBroker(options: Record<string, unknown>): Promise<MoleculerBroker> {
  const { ServiceBroker } = (await import('moleculer')).default as unknown as {
    ServiceBroker: new (o: unknown) => MoleculerBroker;
  };
  return new ServiceBroker({ logger: false, metrics: false, tracing: false, ...options });
}

/** Moleculer with its TCP transporter (its fastest), discovery pinned to the server's port. */
const moleculerTcp: Target = {
  async server() {
    const port = await freePort();
    const broker = await moleculerBroker({
      nodeID: `bench-server-${process.pid}`,
      transporter: { type: 'TCP', options: { udpDiscovery: false, port } },
    });
    broker.createService({
      name: 'bench',
      actions: { echo: (ctx: { params: unknown }) => ctx.params },
    });
    await broker.start();
    return { address: `127.0.0.1:${port}/bench-server-${process.pid}`, close: () => broker.stop() };
  },
  async client(address) {
    const broker = await moleculerBroker({
      nodeID: `bench-client-${process.pid}`,
      transporter: { type: 'TCP', options: { udpDiscovery: false, urls: [address] } },
    });
    await broker.start();
    await broker.waitForServices('bench');
    return { call: () => broker.call('bench.echo', PAYLOAD), close: () => broker.stop() };
  },
};

/** Moleculer over NATS (a nats-server at 127.0.0.1:4222), in a namespace of its own. */
const moleculerNats: Target = {
  async server() {
    const namespace = `bench-${process.pid}`;
    const broker = await moleculerBroker({
      namespace,
      nodeID: `bench-server-${process.pid}`,
      transporter: process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222',
    });
    broker.createService({
      name: 'bench',
      actions: { echo: (ctx: { params: unknown }) => ctx.params },
    });
    await broker.start();
    return { address: namespace, close: () => broker.stop() };
  },
  async client(namespace) {
    const broker = await moleculerBroker({
      namespace,
      nodeID: `bench-client-${process.pid}`,
      transporter: process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222',
    });
    await broker.start();
    await broker.waitForServices('bench');
    return { call: () => broker.call('bench.echo', PAYLOAD), close: () => broker.stop() };
  },
};

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

export function target(name: string): Target {
  switch (name) {
    case 'tcp-floor':
      return tcpFloor;
    case 'tsmicro-native':
      return tsmicroTarget(() => nativeTransport());
    case 'tsmicro-native-contract':
      return tsmicroTarget(() => nativeTransport(), true, 'types');
    case 'tsmicro-native-zod':
      return tsmicroTarget(() => nativeTransport(), true, 'zod');
    case 'tsmicro-grpc':
      return tsmicroTarget(() => grpcTransport());
    case 'tsmicro-grpc-explicit':
      return tsmicroTarget(() => grpcTransport(), false);
    case 'raw-grpc-js':
      return rawGrpc(false);
    case 'raw-grpc-js-gomicro':
      return rawGrpc(true);
    case 'moleculer-tcp':
      return moleculerTcp;
    case 'moleculer-nats':
      return moleculerNats;
    default:
      throw new Error(`unknown bench target ${name}`);
  }
}
