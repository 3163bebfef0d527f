import net from 'node:net';
import tls from 'node:tls';
import { DeadlineExceeded, clampTimeout } from '../../context.js';
import { MicroError, SERVER_ERROR_ID } from '../../errors.js';
import { DeadlineSweep } from '../../internal/deadline-sweep.js';
import { LazyAbort } from '../../internal/lazy-abort.js';
import { joinHostPort } from '../../options.js';
import { dispatchUnary, kindOf, settle, unaryOverStream } from '../dispatch.js';
import { serverError } from '../errors.js';
import { listenAddress } from '../listen-address.js';
import {
  FrameReader,
  HEAD_ALLOWANCE,
  Kind,
  MalformedHeadError,
  bodyFrame,
  emptyFrame,
  readHead,
  u32Frame,
  FrameWriter,
  type DecodedHead,
  type FrameSink,
  type HeadCache,
} from './frame.js';
import { CallTable } from './call-table.js';
import { StreamEnd } from './stream.js';
import type { Dispatcher, FrameStream, InboundHead, Listener, UnaryCall } from '../transport.js';

/** What {@link listenNative} needs from the transport. */
export interface NativeListenConfig {
  maxMessageBytes: number;
  /** TLS server options; plaintext TCP when undefined. */
  tls: tls.TlsOptions | undefined;
}

/** Listens for native-transport connections on `address` and serves them through `dispatcher`. */
export async function listenNative(
  address: string,
  dispatcher: Dispatcher,
  config: NativeListenConfig,
): Promise<Listener> {
  const parsed = listenAddress(address);
  const listener = new NativeListener(dispatcher, config);
  const server = config.tls
    ? tls.createServer(config.tls, (socket) => listener.accept(socket))
    : net.createServer({ noDelay: true }, (socket) => listener.accept(socket));
  // A client that fails the TLS handshake must not take the server down.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(parsed.port, parsed.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as net.AddressInfo;
  listener.bind(server, joinHostPort(parsed.host, bound.port));
  return listener;
}

class NativeListener implements Listener {
  address = '';
  closing = false;
  private server: net.Server | undefined;
  private readonly conns = new Set<ServerConn>();
  private inflight = 0;
  private onIdle: (() => void) | undefined;
  private closed: Promise<void> | undefined;

  constructor(
    readonly dispatcher: Dispatcher,
    readonly config: NativeListenConfig,
  ) {}

  bind(server: net.Server, address: string): void {
    this.server = server;
    this.address = address;
  }

  accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.conns.add(new ServerConn(socket, this));
  }

  forget(conn: ServerConn): void {
    this.conns.delete(conn);
  }

  started(): void {
    this.inflight++;
  }

  finished(): void {
    if (--this.inflight === 0) this.onIdle?.();
  }

  close(graceMs = 0): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      const stopped = new Promise<void>((resolve) => this.server?.close(() => resolve()));
      for (const conn of this.conns) conn.goAway();
      if (this.inflight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, clampTimeout(graceMs));
          this.onIdle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      for (const conn of [...this.conns])
        conn.destroy(new MicroError(SERVER_ERROR_ID, 503, 'server stopped'));
      await stopped;
    })();
    return this.closed;
  }
}

/**
 * One call being served: its handler's abort signal (made only if the handler reads it), its
 * deadline and, for streams, its stream end.
 */
class ServerCall extends LazyAbort implements UnaryCall {
  /** Epoch ms; Infinity for none. */
  deadline = Infinity;
  stream: StreamEnd | undefined;
  done = false;

  constructor(
    readonly id: number,
    private readonly conn: ServerConn,
  ) {
    super();
  }

  replied(body: Uint8Array): void {
    this.conn.replied(this, body);
  }

  failed(err: unknown): void {
    this.conn.failed(this, err);
  }
}

/** One client connection: frames in, calls out to the dispatcher, replies back. */
class ServerConn implements FrameSink {
  private readonly calls = new CallTable<ServerCall>();
  private readonly reader: FrameReader;
  private readonly out: FrameWriter;
  private readonly remote: string | undefined;
  private readonly max: number;
  private dead = false;
  private readonly heads: HeadCache = { service: '', endpoint: '', contentType: '' };
  /**
   * Aborts handlers whose deadline passed, as Go's context deadline would (one timer for all
   * calls).
   */
  private readonly deadlines = new DeadlineSweep<ServerCall>(
    () => this.calls.values(),
    (call) =>
      this.fail(
        call,
        MicroError.timeout(SERVER_ERROR_ID, 'deadline exceeded'),
        new DeadlineExceeded(),
      ),
  );

  constructor(
    private readonly socket: net.Socket,
    private readonly listener: NativeListener,
  ) {
    this.max = listener.config.maxMessageBytes;
    this.reader = new FrameReader(this, this.max + HEAD_ALLOWANCE);
    this.out = new FrameWriter(socket);
    this.remote =
      socket.remoteAddress === undefined
        ? undefined
        : joinHostPort(socket.remoteAddress, socket.remotePort ?? 0);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.reader.push(chunk));
    socket.on('error', () => {}); // 'close' follows and cleans up
    socket.on('close', () =>
      this.destroy(new MicroError(SERVER_ERROR_ID, 408, 'connection closed by the client')),
    );
  }

  frame(kind: Kind, id: number, payload: Buffer): void {
    switch (kind) {
      case Kind.Request:
        return this.onRequest(id, payload);
      case Kind.Open:
        return this.onOpen(id, payload);
      case Kind.Data:
        return this.calls.get(id)?.stream?.receive(payload);
      case Kind.End:
        return this.calls.get(id)?.stream?.endInbound();
      case Kind.Window:
        return payload.length >= 4
          ? this.calls.get(id)?.stream?.grant(payload.readUInt32BE(0))
          : undefined;
      case Kind.Cancel:
        return this.onCancel(id, payload);
      case Kind.Ping:
        this.write(bodyFrame(Kind.Pong, 0, payload));
        return;
      default:
        // An unknown kind on an intact framing: refuse that call, keep the connection.
        if (id !== 0)
          this.write(
            errorFrame(id, MicroError.badRequest(SERVER_ERROR_ID, `unknown frame kind ${kind}`)),
          );
    }
  }

  oversized(kind: Kind, id: number, payloadBytes: number): void {
    const err = MicroError.payloadTooLarge(
      SERVER_ERROR_ID,
      `message of about ${payloadBytes} bytes is larger than the limit of ${this.max}`,
    );
    const call = this.calls.get(id);
    if (call) this.fail(call, err, err);
    else if (kind === Kind.Request || kind === Kind.Open) this.write(errorFrame(id, err));
  }

  broken(reason: string): void {
    this.destroy(new MicroError(SERVER_ERROR_ID, 400, `broken frame from the client: ${reason}`));
  }

  goAway(): void {
    this.write(emptyFrame(Kind.GoAway, 0));
  }

  /** Closes the connection; calls still running see `reason` on their signal. */
  destroy(reason: MicroError): void {
    if (this.dead) return;
    this.dead = true;
    this.reader.stop();
    this.deadlines.stop();
    for (const call of this.calls.values()) this.end(call, reason);
    // Frames written this tick are still queued: flush them (a reply that just finished must
    // reach the client), end the socket, and destroy it if the peer does not close its side.
    this.out.flush();
    this.socket.end();
    setTimeout(destroySocket, 1_000, this.socket).unref();
    this.listener.forget(this);
  }

  write(frame: Buffer, streamed?: boolean): boolean {
    return this.dead ? false : this.out.write(frame, streamed);
  }

  /**
   * Ends `call` from outside its handler: the client gets `sent`, the handler's signal aborts with
   * `reason`.
   */
  fail(call: ServerCall, sent: MicroError, reason: unknown): void {
    if (call.done) return;
    this.write(errorFrame(call.id, sent));
    this.end(call, reason);
  }

  private end(call: ServerCall, reason?: unknown): void {
    if (call.done) return;
    call.done = true;
    this.calls.delete(call.id);
    if (reason !== undefined) {
      call.abort(reason);
      call.stream?.fail(serverError(reason));
    } else {
      call.stream?.finish();
    }
    this.listener.finished();
  }

  /** Parses a head, or answers the error and returns undefined. */
  private head(id: number, payload: Buffer, now: number): DecodedHead | undefined {
    if (this.listener.closing) {
      this.write(emptyFrame(Kind.Refused, id));
      return undefined;
    }
    if (this.calls.has(id)) {
      this.write(
        errorFrame(id, MicroError.badRequest(SERVER_ERROR_ID, `call id ${id} is already in use`)),
      );
      return undefined;
    }
    try {
      return readHead(payload, now, this.heads);
    } catch (err) {
      if (!(err instanceof MalformedHeadError)) throw err;
      this.write(
        errorFrame(
          id,
          MicroError.badRequest(SERVER_ERROR_ID, `malformed request head: ${err.message}`),
        ),
      );
      return undefined;
    }
  }

  private track(id: number, head: DecodedHead): ServerCall {
    const call = new ServerCall(id, this);
    this.calls.add(call);
    this.listener.started();
    call.deadline = head.deadline;
    this.deadlines.arm(head.deadline);
    return call;
  }

  private onRequest(id: number, payload: Buffer): void {
    const now = Date.now();
    const head = this.head(id, payload, now);
    if (!head) return;
    if (payload.length - head.bodyOffset > this.max) {
      this.write(
        errorFrame(
          id,
          MicroError.payloadTooLarge(
            SERVER_ERROR_ID,
            `message of ${payload.length - head.bodyOffset} bytes is larger than the limit of ${this.max}`,
          ),
        ),
      );
      return;
    }
    // A head's deadline is `now` plus the timeout it carried: passed only when that was 0.
    if (head.deadline <= now) {
      this.write(errorFrame(id, MicroError.timeout(SERVER_ERROR_ID, 'deadline exceeded')));
      return;
    }
    const call = this.track(id, head);
    const view = new Uint8Array(
      payload.buffer,
      payload.byteOffset + head.bodyOffset,
      payload.length - head.bodyOffset,
    );
    dispatchUnary(this.listener.dispatcher, inbound(head, this.remote), view, call);
  }

  replied(call: ServerCall, value: Uint8Array): void {
    if (call.done) return;
    if (value.byteLength > this.max) {
      this.write(
        errorFrame(
          call.id,
          MicroError.payloadTooLarge(
            SERVER_ERROR_ID,
            `reply of ${value.byteLength} bytes is larger than the limit of ${this.max}`,
          ),
        ),
      );
    } else {
      this.write(bodyFrame(Kind.Reply, call.id, value));
    }
    this.end(call);
  }

  failed(call: ServerCall, err: unknown): void {
    if (call.done) return;
    this.write(errorFrame(call.id, serverError(err)));
    this.end(call);
  }

  private onOpen(id: number, payload: Buffer): void {
    const now = Date.now();
    const head = this.head(id, payload, now);
    if (!head) return;
    if (head.deadline <= now) {
      this.write(errorFrame(id, MicroError.timeout(SERVER_ERROR_ID, 'deadline exceeded')));
      return;
    }
    const call = this.track(id, head);
    const end = new StreamEnd(
      {
        data: (body) => this.write(bodyFrame(Kind.Data, id, body), true),
        window: (n) => {
          this.write(u32Frame(Kind.Window, id, n), true);
        },
        drained: () => this.out.drained(this.dead, connectionClosed),
      },
      this.max,
      (err) => this.fail(call, err, err),
    );
    call.stream = end;
    const frames: FrameStream = {
      send: (body) => end.send(body),
      // The clean end of a stream is the handler returning (as gRPC's OK status); until then
      // closeSend only stops further sends.
      closeSend: () => {
        end.sendClosed = true;
      },
      cancel: (err) => {
        const sent = serverError(
          err ?? new MicroError(SERVER_ERROR_ID, 408, 'stream cancelled by the server'),
        );
        this.fail(call, sent, sent);
      },
      [Symbol.asyncIterator]: end.iterator,
    };
    const dispatcher = this.listener.dispatcher;
    const kind = kindOf(dispatcher, head.endpoint);
    // A unary endpoint opened as a stream takes its one request from the first message, as over
    // gRPC; an unknown one gets the dispatcher's 404.
    settle(() =>
      kind === 'stream'
        ? dispatcher.stream(inbound(head, this.remote), frames, call.signal)
        : unaryOverStream(
            dispatcher,
            inbound(head, this.remote),
            frames,
            call.signal,
            kind === 'unary',
          ),
    ).then(
      () => {
        if (!call.done) {
          this.write(emptyFrame(Kind.End, id));
          this.end(call);
        }
      },
      (err: unknown) => this.failed(call, err),
    );
  }

  private onCancel(id: number, payload: Buffer): void {
    const call = this.calls.get(id);
    if (!call) return;
    let reason = new MicroError(SERVER_ERROR_ID, 408, 'call cancelled by the client');
    if (payload.length > 0) reason = MicroError.fromJSON(payload.toString('utf8'), SERVER_ERROR_ID);
    this.end(call, reason);
  }
}

function connectionClosed(): MicroError {
  return new MicroError(SERVER_ERROR_ID, 503, 'connection closed');
}

function destroySocket(socket: net.Socket): void {
  socket.destroy();
}

/** The head a handler sees. */
function inbound(head: DecodedHead, remote: string | undefined): InboundHead {
  const out: InboundHead = {
    service: head.service,
    endpoint: head.endpoint,
    contentType: head.contentType,
    metadata: head.metadata,
    deadline: head.deadline,
  };
  if (remote !== undefined) out.remote = remote;
  return out;
}

/** An Error frame: go-micro's error JSON. */
export function errorFrame(id: number, err: MicroError): Buffer {
  return bodyFrame(Kind.Error, id, Buffer.from(JSON.stringify(err.toJSON()), 'utf8'));
}
