import net from 'node:net';
import { DeadlineExceeded, clampTimeout } from '../../context.js';
import { MicroError, SERVER_ERROR_ID, statusText } from '../../errors.js';
import { joinHostPort } from '../../options.js';
import { dispatchUnary, kindOf, settle, unaryOverStream } from '../dispatch.js';
import { serverError } from '../errors.js';
import { listenAddress } from '../listen-address.js';
import type { Dispatcher, InboundHead, Listener } from '../transport.js';
import { HttpReader, responseBytes, type HeaderList, type HttpMessage } from './http1.js';
import { drained } from './drained.js';
import { MucpFrames } from './frames.js';
import { EOS, H, errorFromHeader, errorHeader, parseRequest, type ParsedRequest } from './wire.js';

/** What {@link listenMucp} needs from the transport. */
export interface MucpListenConfig {
  maxMessageBytes: number;
}

/**
 * Listens for go-micro rpc clients (and tsmicro's mucp transport) on `address`: HTTP/1.1 on
 * plain TCP, as go-micro's HTTP transport without TLS. Its h2c upgrade path is not served:
 * go-micro's own client never takes it.
 */
export async function listenMucp(
  address: string,
  dispatcher: Dispatcher,
  config: MucpListenConfig,
): Promise<Listener> {
  const parsed = listenAddress(address);
  const listener = new MucpListener(dispatcher, config);
  // Half-open: a client that sends its requests and then ends its side still gets the answers.
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) =>
    listener.accept(socket),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(parsed.port, parsed.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  listener.bind(server, joinHostPort(parsed.host, (server.address() as net.AddressInfo).port));
  return listener;
}

class MucpListener implements Listener {
  address = '';
  private server?: net.Server;
  readonly connections = new Set<ServerConnection>();
  closing = false;
  private idle?: () => void;

  constructor(
    readonly dispatcher: Dispatcher,
    readonly config: MucpListenConfig,
  ) {}

  bind(server: net.Server, address: string): void {
    this.server = server;
    this.address = address;
  }

  accept(socket: net.Socket): void {
    if (this.closing) return void socket.destroy();
    this.connections.add(new ServerConnection(this, socket));
  }

  forget(conn: ServerConnection): void {
    this.connections.delete(conn);
    this.checkIdle();
  }

  checkIdle(): void {
    if (this.idle && [...this.connections].every((c) => c.busy === 0)) this.idle();
  }

  async close(graceMs = 10_000): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server?.close(() => resolve()));
    // In-flight calls may finish for graceMs; idle keep-alive connections close now.
    const idle = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), clampTimeout(graceMs));
      this.idle = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.checkIdle();
    });
    // Once idle, the answers just made are written first (a reply that just finished must reach
    // its client); after the grace, calls still running are cut off.
    const stopped = new MicroError(SERVER_ERROR_ID, 503, 'server stopped');
    await Promise.all(
      [...this.connections].map((c) =>
        (idle ? c.written() : Promise.resolve()).then(() => c.destroy(stopped)),
      ),
    );
    await closed;
  }
}

/** The outcome of one unary request, written in request order. */
type Outcome = { body: Uint8Array; contentType: string } | { error: MicroError };

/**
 * One client connection. go-micro's client has one unary call in flight per pooled connection,
 * but HTTP/1.1 allows pipelining, so replies are written in request order whatever order the
 * handlers finish in. A stream's messages carry `Micro-Stream` and are routed to it.
 */
class ServerConnection {
  private readonly reader: HttpReader;
  private order: Promise<void> = Promise.resolve();
  private readonly streams = new Map<string, ServerStream>();
  private readonly calls = new Set<AbortController>();
  private readonly remote: string | undefined;
  /** Calls and streams running. */
  busy = 0;
  dead = false;
  /** The client ended its side: once every answer is written, so does this one. */
  private inputEnded = false;

  constructor(
    private readonly listener: MucpListener,
    private readonly socket: net.Socket,
  ) {
    this.remote =
      socket.remoteAddress === undefined
        ? undefined
        : joinHostPort(socket.remoteAddress, socket.remotePort ?? 0);
    this.reader = new HttpReader(
      'REQUEST',
      listener.config.maxMessageBytes,
      (m) => this.onMessage(m),
      (err) => this.refuse(err.message),
    );
    socket.on('data', (chunk: Buffer) => this.reader.push(chunk));
    socket.on('end', () => {
      this.inputEnded = true;
      this.reader.end();
      this.closeIfDone();
    });
    socket.on('error', () => {});
    socket.on('close', () =>
      this.destroy(new MicroError(SERVER_ERROR_ID, 408, 'call cancelled: the client disconnected')),
    );
  }

  write(bytes: Buffer): boolean {
    return this.dead ? false : this.socket.write(bytes);
  }

  /** Resolves once every answer made so far is written to the socket. */
  written(): Promise<void> {
    return this.order;
  }

  /** Resolves once the socket takes more (or is gone). */
  drained(): Promise<void> {
    return this.dead ? Promise.resolve() : drained(this.socket);
  }

  private onMessage(m: HttpMessage): void {
    if (this.dead) return;
    const now = Date.now();
    const req = parseRequest(m, now);
    if (req instanceof MicroError) return this.answer(Promise.resolve({ error: req }));
    if (m.oversized !== undefined) {
      const err = MicroError.payloadTooLarge(
        SERVER_ERROR_ID,
        `message of ${m.oversized} bytes is larger than the limit of ${this.listener.config.maxMessageBytes}`,
      );
      const stream = req.stream === undefined ? undefined : this.streams.get(req.stream);
      if (stream) return stream.abort(err, true);
      if (req.stream === undefined) return this.answer(Promise.resolve({ error: err }));
      return;
    }
    if (req.stream !== undefined) return this.onStreamMessage(req, m.body);
    this.answer(this.unary(req, m.body, now));
  }

  private head(req: ParsedRequest): InboundHead {
    const head: InboundHead = {
      service: req.service,
      endpoint: req.endpoint,
      contentType: req.contentType,
      metadata: req.metadata,
      deadline: req.deadline,
    };
    if (this.remote !== undefined) head.remote = this.remote;
    return head;
  }

  /** Writes `outcome` once every earlier reply on this connection is written. */
  private answer(outcome: Promise<Outcome>): void {
    this.order = this.order
      .then(() => outcome)
      .then((o) => {
        const max = this.listener.config.maxMessageBytes;
        if (!('error' in o) && o.body.length > max)
          o = {
            error: MicroError.payloadTooLarge(
              SERVER_ERROR_ID,
              `reply of ${o.body.length} bytes is larger than the limit of ${max}`,
            ),
          };
        this.write(
          'error' in o
            ? responseBytes(200, 'OK', [[H.error, errorHeader(o.error)]], new Uint8Array(0))
            : responseBytes(
                200,
                'OK',
                o.body.length > 0 ? [[H.contentType, o.contentType]] : [],
                o.body,
              ),
        );
      });
  }

  private unary(req: ParsedRequest, body: Buffer, now: number): Promise<Outcome> {
    if (req.deadline <= now)
      return Promise.resolve({ error: MicroError.timeout(SERVER_ERROR_ID, 'deadline exceeded') });
    const ac = new AbortController();
    this.calls.add(ac);
    this.busy++;
    return new Promise<Outcome>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const finish = (o: Outcome): void => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        this.calls.delete(ac);
        this.busy--;
        resolve(o);
        this.listener.checkIdle();
      };
      if (Number.isFinite(req.deadline))
        timer = setTimeout(
          () => {
            ac.abort(new DeadlineExceeded());
            finish({ error: MicroError.timeout(SERVER_ERROR_ID, 'deadline exceeded') });
          },
          clampTimeout(req.deadline - now),
        );
      ac.signal.addEventListener('abort', () => finish({ error: serverError(ac.signal.reason) }));
      dispatchUnary(this.listener.dispatcher, this.head(req), body, {
        signal: ac.signal,
        replied: (b) => finish({ body: b, contentType: req.contentType }),
        failed: (err) => finish({ error: serverError(err) }),
      });
    });
  }

  private onStreamMessage(req: ParsedRequest, body: Buffer): void {
    const id = req.stream!;
    const known = this.streams.get(id);
    if (known) {
      if (req.error === EOS) known.frames.inboundEnd();
      else if (req.error !== undefined) known.abort(errorFromHeader(req.error));
      else known.frames.push(body);
      return;
    }
    // The end of a stream this connection no longer knows (it finished first): nothing to do.
    if (req.error !== undefined) return;
    this.openStream(id, req, body);
  }

  private openStream(id: string, req: ParsedRequest, body: Buffer): void {
    const contentType = req.contentType;
    const stream = new ServerStream(this, id, contentType, this.listener.config.maxMessageBytes);
    this.streams.set(id, stream);
    this.busy++;
    const dispatcher = this.listener.dispatcher;
    const kind = kindOf(dispatcher, req.endpoint);
    // go-micro's router discards the first message of a stream (its client sends the request
    // object there and again with the first Send); a unary endpoint takes it as the request.
    if (kind !== 'stream') {
      stream.frames.push(body);
      stream.frames.inboundEnd();
    }
    const now = Date.now();
    if (Number.isFinite(req.deadline))
      stream.timer = setTimeout(
        () => stream.abort(MicroError.timeout(SERVER_ERROR_ID, 'deadline exceeded'), true),
        clampTimeout(req.deadline - now),
      );
    const head = this.head(req);
    settle(() =>
      kind === 'stream'
        ? dispatcher.stream(head, stream.frames, stream.signal)
        : unaryOverStream(dispatcher, head, stream.frames, stream.signal, kind === 'unary'),
    ).then(
      () => stream.finish(),
      (err: unknown) => stream.finish(serverError(err)),
    );
  }

  forget(id: string): void {
    if (this.streams.delete(id)) {
      this.busy--;
      this.listener.checkIdle();
      this.closeIfDone();
    }
  }

  /** After the client ended its side: closes once the answers to what it sent are written. */
  private closeIfDone(): void {
    if (!this.inputEnded || this.dead) return;
    void this.order.then(() => {
      if (this.busy === 0 && this.streams.size === 0)
        this.destroy(new MicroError(SERVER_ERROR_ID, 408, 'the client closed the connection'));
    });
  }

  /** Answers bytes that are not go-micro's HTTP/1.1, then closes: framing is lost. */
  private refuse(detail: string): void {
    const err = MicroError.badRequest(SERVER_ERROR_ID, detail);
    const headers: HeaderList = [
      [H.contentType, 'text/plain; charset=utf-8'],
      [H.error, errorHeader(err)],
      ['Connection', 'close'],
    ];
    void this.order.then(() => {
      this.write(responseBytes(400, statusText(400), headers, Buffer.from(detail, 'utf8')));
      this.destroy(err);
    });
  }

  /** Closes the connection; running calls and streams see `reason` on their signal. */
  destroy(reason: MicroError): void {
    if (this.dead) return;
    this.dead = true;
    for (const ac of [...this.calls]) ac.abort(reason);
    for (const s of [...this.streams.values()]) s.abort(reason);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1_000).unref();
    this.listener.forget(this);
  }
}

/** One stream a client opened: its inbound messages, and its replies as responses. */
class ServerStream {
  readonly frames: MucpFrames;
  private readonly ac = new AbortController();
  timer?: NodeJS.Timeout;
  private done = false;

  constructor(
    private readonly conn: ServerConnection,
    private readonly id: string,
    private readonly contentType: string,
    max: number,
  ) {
    this.frames = new MucpFrames(max, {
      send: async (body) => {
        if (this.done) throw new MicroError(SERVER_ERROR_ID, 408, 'stream ended');
        this.conn.write(
          responseBytes(
            200,
            'OK',
            [
              [H.contentType, this.contentType],
              [H.stream, this.id],
            ],
            body,
          ),
        );
        await this.conn.drained();
      },
      // The clean end is the handler returning, as go-micro's router sends EOS then.
      closeSend: () => {},
      cancel: (err) =>
        this.abort(
          serverError(
            err ?? new MicroError(SERVER_ERROR_ID, 408, 'stream cancelled by the server'),
          ),
          true,
        ),
    });
  }

  get signal(): AbortSignal {
    return this.ac.signal;
  }

  /** The handler returned (EOS) or failed (`err`). */
  finish(err?: MicroError): void {
    if (this.done) return;
    this.end(err === undefined ? EOS : errorHeader(err));
  }

  /** Ends the stream from outside its handler; `tell` sends the client `err`. */
  abort(err: MicroError, tell = false): void {
    if (this.done) return;
    this.frames.fail(err);
    this.ac.abort(err);
    if (tell) this.end(errorHeader(err));
    else this.close();
  }

  private end(errorValue: string): void {
    this.conn.write(
      responseBytes(
        200,
        'OK',
        [
          [H.stream, this.id],
          [H.error, errorValue],
        ],
        new Uint8Array(0),
      ),
    );
    this.close();
  }

  private close(): void {
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.conn.forget(this.id);
  }
}
