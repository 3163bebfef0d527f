// The systems compared by the stream benchmark (bench/streams.ts), each as a server half and a
// client half in separate processes (bench/stream-server.ts, bench/stream-client.ts). Every
// target does the same work per message: JSON-encode on the sender, JSON-decode on the receiver,
// so the raw targets are the floor of the same job, not of a lighter one.
//
// Two endpoints on every server:
// - Echo (bidi): every message received is sent back.
// - Pour (server streaming): the first message asks for `{ size, ms }`; the server then sends
//   messages of about `size` bytes for `ms` milliseconds (at most POUR_MAX) and ends the stream.
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import {
  createService,
  localRegistry,
  streaming,
  type ClientStream,
  type Service,
  type Transport,
} from '../src/index.js';
import { grpcTransport } from '../src/transport/grpc/grpc.js';
import { nativeTransport } from '../src/transport/native/native.js';
import { listenRawGrpc, type ServerHalf } from './targets.js';

export type StreamTargetName = 'tcp-stream' | 'tsmicro-native' | 'tsmicro-grpc' | 'raw-grpc-js';
export const STREAM_TARGETS: readonly StreamTargetName[] = [
  'tcp-stream',
  'tsmicro-native',
  'tsmicro-grpc',
  'raw-grpc-js',
];

/** A stream message: `data` pads it to the size asked for. */
export interface Msg {
  i: number;
  data: string;
}

/** What Pour's first message asks for. */
interface PourRequest {
  size: number;
  ms: number;
}

/** Bounds a pour in count as well as time (the bench's loops are bounded both ways). */
const POUR_MAX = 50_000_000;
/** Bounds one echo stream's sends. */
export const ECHO_MAX = 50_000_000;
/** Pour checks the clock once per this many messages. */
const CLOCK_EVERY = 16;

/** A message of about `size` bytes once JSON-encoded. */
export function message(size: number): Msg {
  return { i: 0, data: 'x'.repeat(Math.max(0, size - 20)) };
}

/** A stream target's server half: the same as a unary target's. */
export type StreamServerHalf = ServerHalf;

/** One stream's run, as the client sees it. */
export interface StreamClientHalf {
  /**
   * Bidi echo on one stream: sends `msg` until `until` (epoch ms), half-closes, and resolves with
   * the number of echoes received once the stream ended.
   */
  echo(msg: Msg, until: number): Promise<number>;
  /** Server streaming: asks for `size`-byte messages for `ms`; resolves with the count received. */
  pour(size: number, ms: number): Promise<number>;
  /**
   * A slow reader: asks for a pour of `size`-byte messages lasting `ms`, reads `reads` messages
   * calling `pause()` before each, then cancels the stream.
   */
  slow(size: number, ms: number, reads: number, pause: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

interface StreamTarget {
  server(): Promise<StreamServerHalf>;
  client(address: string): Promise<StreamClientHalf>;
}

const silent = () => pino({ level: 'silent' });

/** tsmicro over `makeTransport`, found through a local registry directory both processes share. */
function tsmicroTarget(makeTransport: () => Transport): StreamTarget {
  return {
    async server() {
      const dir = process.env.BENCH_REGISTRY_DIR!;
      const service = createService({
        name: 'bench',
        registry: localRegistry({ dir }),
        transport: makeTransport(),
        logger: silent(),
        drainDelayMs: 0,
      });
      service.handle('Bench', {
        Echo: streaming<Msg, Msg>(async (s) => {
          for await (const m of s) await s.send(m);
        }),
        Pour: streaming<PourRequest, Msg>(async (s, ctx) => {
          for await (const req of s) {
            const msg = message(req.size);
            const until = Date.now() + req.ms;
            for (let i = 0; i < POUR_MAX && !ctx.signal.aborted; i++) {
              if (i % CLOCK_EVERY === 0 && Date.now() >= until) break;
              msg.i = i;
              await s.send(msg);
            }
            return;
          }
        }),
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
      });
      const client = service.client;
      return {
        async echo(msg, until) {
          const s = await client.stream<Msg, Msg>('bench', 'Bench.Echo');
          const received = countAll(s);
          for (let i = 0; i < ECHO_MAX && Date.now() < until; i++) {
            msg.i = i;
            await s.send(msg);
          }
          s.closeSend();
          return received;
        },
        async pour(size, ms) {
          const s = await client.stream<PourRequest, Msg>('bench', 'Bench.Pour');
          await s.send({ size, ms });
          s.closeSend();
          return countAll(s);
        },
        async slow(size, ms, reads, pause) {
          const s = await client.stream<PourRequest, Msg>('bench', 'Bench.Pour');
          await s.send({ size, ms });
          s.closeSend();
          for (let i = 0; i < reads; i++) {
            await pause();
            if ((await s.recv()) === undefined) break;
          }
          s.cancel();
        },
        close: () => service.stop(),
      };
    },
  };
}

async function countAll(s: ClientStream<unknown, Msg>): Promise<number> {
  let n = 0;
  for await (const m of s) if (m.i >= 0) n++;
  return n;
}

const toJson = (m: unknown): Buffer => Buffer.from(JSON.stringify(m));
const fromJson = (b: Buffer): unknown => JSON.parse(b.toString('utf8'));

/**
 * @grpc/grpc-js alone: a bidi call per stream (what tsmicro and go-micro use for every stream
 * kind), JSON in its serializers.
 */
const rawGrpc: StreamTarget = {
  async server() {
    const server = new grpc.Server();
    server.register(
      '/bench.Bench/Echo',
      (call: grpc.ServerDuplexStream<Msg, Msg>) => {
        call.on('data', (m: Msg) => {
          if (!call.write(m)) {
            call.pause();
            call.once('drain', () => call.resume());
          }
        });
        call.on('end', () => call.end());
        call.on('error', () => {});
      },
      toJson,
      fromJson,
      'bidi',
    );
    server.register(
      '/bench.Bench/Pour',
      (call: grpc.ServerDuplexStream<PourRequest, Msg>) => {
        call.on('error', () => {});
        call.once('data', (req: PourRequest) => {
          const msg = message(req.size);
          const until = Date.now() + req.ms;
          let i = 0;
          const pump = (): void => {
            for (; i < POUR_MAX; i++) {
              if (call.cancelled || (i % CLOCK_EVERY === 0 && Date.now() >= until)) {
                call.end();
                return;
              }
              msg.i = i;
              if (!call.write(msg)) {
                i++;
                call.once('drain', pump);
                return;
              }
            }
            call.end();
          };
          pump();
        });
      },
      toJson,
      fromJson,
      'bidi',
    );
    return listenRawGrpc(server);
  },
  async client(address) {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    const open = (path: string) =>
      client.makeBidiStreamRequest<unknown, Msg>(path, toJson, fromJson as (b: Buffer) => Msg);
    return {
      async echo(msg, until) {
        const call = open('/bench.Bench/Echo');
        const received = countStream(call);
        for (let i = 0; i < ECHO_MAX && Date.now() < until; i++) {
          msg.i = i;
          if (!call.write(msg)) await new Promise((r) => call.once('drain', r));
        }
        call.end();
        return received;
      },
      async pour(size, ms) {
        const call = open('/bench.Bench/Pour');
        const received = countStream(call);
        call.write({ size, ms });
        call.end();
        return received;
      },
      async slow(size, ms, reads, pause) {
        const call = open('/bench.Bench/Pour');
        call.on('error', () => {});
        call.write({ size, ms });
        call.end();
        const it = call[Symbol.asyncIterator]();
        for (let i = 0; i < reads; i++) {
          await pause();
          if ((await it.next()).done) break;
        }
        call.cancel();
      },
      close: async () => client.close(),
    };
  },
};

function countStream(call: grpc.ClientDuplexStream<unknown, Msg>): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    call.on('data', (m: Msg) => {
      if (m.i >= 0) n++;
    });
    call.on('error', reject);
    call.on('status', (s: grpc.StatusObject) =>
      s.code === grpc.status.OK ? resolve(n) : reject(new Error(s.details)),
    );
  });
}

/**
 * The floor: one TCP connection per stream, `u32 length | JSON` frames, written as fast as the
 * socket takes them (waiting for 'drain' when it says so), a tick's frames in one system call.
 * The first frame names the endpoint.
 */
const tcpStream: StreamTarget = {
  async server() {
    const server = net.createServer({ noDelay: true }, (socket) => {
      socket.on('error', () => {});
      let mode: 'echo' | 'pour' | undefined;
      const cutter = new Cutter((body) => {
        const m = JSON.parse(body.toString('utf8')) as Msg & PourRequest & { mode?: string };
        if (mode === undefined) {
          mode = m.mode === 'pour' ? 'pour' : 'echo';
          if (mode === 'pour') pour(socket, m);
          return;
        }
        if (mode === 'echo' && !put(socket, frame(m))) {
          socket.pause();
          socket.once('drain', () => socket.resume());
        }
      });
      socket.on('data', (chunk: Buffer) => cutter.push(chunk));
      socket.on('end', () => socket.end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
      close: () => new Promise((r) => server.close(() => r())),
    };
  },
  async client(address) {
    const [host, port] = address.split(':') as [string, string];
    const connect = async (): Promise<net.Socket> => {
      const socket = net.connect({ host, port: Number(port), noDelay: true });
      await new Promise((resolve) => socket.once('connect', resolve));
      return socket;
    };
    return {
      async echo(msg, until) {
        const socket = await connect();
        const received = countFrames(socket);
        socket.write(frame({ mode: 'echo' }));
        for (let i = 0; i < ECHO_MAX && Date.now() < until; i++) {
          msg.i = i;
          if (!put(socket, frame(msg))) await new Promise((r) => socket.once('drain', r));
        }
        socket.end();
        return received;
      },
      async pour(size, ms) {
        const socket = await connect();
        const received = countFrames(socket);
        socket.write(frame({ mode: 'pour', size, ms }));
        return received;
      },
      async slow(size, ms, reads, pause) {
        const socket = await connect();
        socket.write(frame({ mode: 'pour', size, ms }));
        // Reading paused between messages: the kernel's socket buffers hold back the writer.
        socket.pause();
        let got = 0;
        const frames: Buffer[] = [];
        const cutter = new Cutter((b) => frames.push(b));
        socket.on('data', (chunk: Buffer) => {
          socket.pause();
          cutter.push(chunk);
        });
        while (got < reads && !socket.destroyed) {
          await pause();
          while (frames.length === 0 && !socket.destroyed) {
            socket.resume();
            await new Promise((r) => socket.once('data', r));
          }
          if (frames.length === 0) break;
          JSON.parse(frames.shift()!.toString('utf8'));
          got++;
        }
        socket.destroy();
      },
      close: async () => {},
    };
  },
};

function pour(socket: net.Socket, req: PourRequest): void {
  const msg = message(req.size);
  const until = Date.now() + req.ms;
  let i = 0;
  const pump = (): void => {
    for (; i < POUR_MAX; i++) {
      if (socket.destroyed) return;
      if (i % CLOCK_EVERY === 0 && Date.now() >= until) {
        socket.end();
        return;
      }
      msg.i = i;
      if (!put(socket, frame(msg))) {
        i++;
        socket.once('drain', pump);
        return;
      }
    }
    socket.end();
  };
  pump();
}

/**
 * Writes `buf`, coalescing the writes of one tick into one system call (Node's own cork), as
 * any stream writer that cares about small messages does; false when the socket is full.
 */
function put(socket: net.Socket, buf: Buffer): boolean {
  if (socket.writableCorked === 0) {
    socket.cork();
    process.nextTick(uncork, socket);
  }
  return socket.write(buf);
}

function uncork(socket: net.Socket): void {
  socket.uncork();
}

function frame(m: unknown): Buffer {
  const body = JSON.stringify(m);
  const len = Buffer.byteLength(body);
  const buf = Buffer.allocUnsafe(4 + len);
  buf.writeUInt32BE(len, 0);
  buf.write(body, 4);
  return buf;
}

function countFrames(socket: net.Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    const cutter = new Cutter((body) => {
      if ((JSON.parse(body.toString('utf8')) as Msg).i >= 0) n++;
    });
    socket.on('data', (chunk: Buffer) => cutter.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      socket.destroy();
      resolve(n);
    });
  });
}

/**
 * Cuts `u32 length | body` frames out of a byte stream. Chunks of a frame split across reads are
 * kept apart and joined once the frame is whole (joining at every read would copy a 1 MiB frame
 * some 16 times).
 */
class Cutter {
  private parts: Buffer[] = [];
  private buffered = 0;
  private need = 4;

  constructor(private readonly onFrame: (body: Buffer) => void) {}

  push(chunk: Buffer): void {
    if (this.buffered > 0) {
      this.parts.push(chunk);
      this.buffered += chunk.length;
      if (this.buffered < this.need) return;
      chunk = Buffer.concat(this.parts, this.buffered);
      this.parts = [];
      this.buffered = 0;
    }
    let off = 0;
    while (chunk.length - off >= 4) {
      const end = off + 4 + chunk.readUInt32BE(off);
      if (end > chunk.length) break;
      this.onFrame(chunk.subarray(off + 4, end));
      off = end;
    }
    if (off < chunk.length) {
      const rest = chunk.subarray(off);
      this.parts = [rest];
      this.buffered = rest.length;
      this.need = rest.length >= 4 ? 4 + rest.readUInt32BE(0) : 4;
    }
  }
}

export function streamTarget(name: string): StreamTarget {
  switch (name) {
    case 'tcp-stream':
      return tcpStream;
    case 'tsmicro-native':
      return tsmicroTarget(() => nativeTransport());
    case 'tsmicro-grpc':
      return tsmicroTarget(() => grpcTransport());
    case 'raw-grpc-js':
      return rawGrpc;
    default:
      throw new Error(`unknown stream bench target ${name}`);
  }
}
