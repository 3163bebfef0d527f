import net from 'node:net';
import { clampTimeout } from '../../context.js';
import { CLIENT_ERROR_ID, MicroError } from '../../errors.js';
import { parseAddress } from '../../options.js';
import { cancelledError, deadlineFault, messageTooLarge, transportFault } from '../errors.js';
import { view } from '../buffers.js';
import type { Connection, FrameStream, RequestHead } from '../transport.js';
import { HttpReader, header, requestBytes, type HttpMessage } from './http1.js';
import { drained } from './drained.js';
import { MucpFrames } from './frames.js';
import { EOS, H, errorFromHeader, requestHeaders } from './wire.js';

/** What a {@link MucpConnection} needs from the transport. */
export interface MucpClientConfig {
  maxMessageBytes: number;
  /** An idle pooled socket is closed after this long, ms. */
  idleMs: number;
  dialTimeoutMs: number;
  /** Idle sockets kept per address (go-micro's pool size). */
  poolSize: number;
}

/**
 * Calls to one address over go-micro's HTTP transport. Like go-micro's rpc client, a unary call
 * takes a pooled connection of its own (one request in flight on it), and a stream dials a new
 * connection that ends with the stream.
 */
export class MucpConnection implements Connection {
  private readonly idle: Socket[] = [];
  private seq = 0;
  private closed = false;

  constructor(
    readonly address: string,
    private readonly config: MucpClientConfig,
  ) {}

  call(head: RequestHead, body: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    if (body.length > this.config.maxMessageBytes)
      return Promise.reject(messageTooLarge(body.length, this.config.maxMessageBytes));
    if (signal?.aborted) return Promise.reject(cancelledError(signal.reason));
    const now = Date.now();
    if (head.deadline <= now) return Promise.reject(deadlineFault());
    let bytes: Buffer;
    try {
      bytes = requestBytes(this.address, requestHeaders(head, String(this.seq++), now), body);
    } catch (err) {
      return Promise.reject(MicroError.from(err, CLIENT_ERROR_ID));
    }
    const reused = this.idle.pop();
    const sock = reused ?? this.dial();
    return new Promise<Uint8Array>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => done(cancelledError(signal?.reason));
      const done = (err: MicroError | undefined, m?: HttpMessage): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err !== undefined) {
          // A reset, not a FIN: the server tells a cancel from a client done sending by it.
          sock.destroy(true);
          return reject(err);
        }
        this.release(sock);
        const outcome = replyOf(m!);
        if (outcome instanceof MicroError) reject(outcome);
        else resolve(outcome);
      };
      if (Number.isFinite(head.deadline))
        timer = setTimeout(() => done(deadlineFault()), clampTimeout(head.deadline - now));
      signal?.addEventListener('abort', onAbort, { once: true });
      sock.expect(
        (m) => done(undefined, m),
        (err) => done(reused !== undefined && !sock.answered ? retryable(err) : err),
      );
      sock.write(bytes);
    });
  }

  stream(head: RequestHead, signal?: AbortSignal): FrameStream {
    const id = String(this.seq++);
    const now = Date.now();
    const sock = this.dial();
    let sendDone = false;
    let timer: NodeJS.Timeout | undefined;
    const frames = new MucpFrames(this.config.maxMessageBytes, {
      send: async (body) => {
        if (sendDone) throw new MicroError(CLIENT_ERROR_ID, 400, 'send after closeSend');
        if (sock.dead)
          throw transportFault(503, `stream to ${this.address} ended`, {
            reason: 'reset',
            beforeHandler: false,
          });
        sock.write(message(this.address, head, id, now, body));
        await sock.drained();
      },
      // go-micro's client ends its side with an `EOS` error message (rpc_stream.go Close).
      closeSend: () => {
        if (sendDone) return;
        sendDone = true;
        sock.write(message(this.address, head, id, now, new Uint8Array(0), EOS));
      },
      cancel: (err) => {
        frames.fail(MicroError.is(err) ? err : cancelledError(err));
        finish(true);
      },
    });
    /** Ends the stream's connection; `reset` when it is abandoned (see Socket.destroy). */
    const finish = (reset = false): void => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      sock.destroy(reset);
    };
    const onAbort = (): void => {
      frames.fail(cancelledError(signal?.reason));
      finish(true);
    };
    if (signal?.aborted) {
      onAbort();
      return frames;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    if (Number.isFinite(head.deadline)) {
      if (head.deadline <= now) {
        frames.fail(deadlineFault());
        finish(true);
        return frames;
      }
      timer = setTimeout(
        () => {
          frames.fail(deadlineFault());
          finish(true);
        },
        clampTimeout(head.deadline - now),
      );
    }
    sock.onMessages(
      (m) => {
        const err = header(m, 'micro-error');
        if (err === EOS) {
          frames.inboundEnd();
          finish();
        } else if (err !== undefined && err !== '') {
          frames.fail(errorFromHeader(err));
          finish();
        } else if (m.statusCode !== 200) {
          frames.fail(statusError(m));
          finish();
        } else if (m.oversized !== undefined) {
          frames.fail(replyTooLarge(m.oversized));
          finish(true);
        } else frames.push(view(m.body));
      },
      (err) => {
        frames.fail(err);
        finish();
      },
    );
    // The opening message: go-micro's client sends the request there, which its server discards
    // for a stream; this sends it empty.
    try {
      sock.write(message(this.address, head, id, now, new Uint8Array(0)));
    } catch (err) {
      frames.fail(MicroError.from(err, CLIENT_ERROR_ID));
      finish();
    }
    return frames;
  }

  /** Closes every pooled socket. */
  close(): void {
    this.closed = true;
    for (const s of this.idle.splice(0)) s.destroy();
  }

  private dial(): Socket {
    return new Socket(this.address, this.config, (s) => {
      const i = this.idle.indexOf(s);
      if (i >= 0) this.idle.splice(i, 1);
    });
  }

  private release(sock: Socket): void {
    if (this.closed || sock.dead || this.idle.length >= this.config.poolSize) sock.destroy();
    else {
      sock.parkIdle(this.config.idleMs);
      this.idle.push(sock);
    }
  }
}

function message(
  host: string,
  head: RequestHead,
  id: string,
  now: number,
  body: Uint8Array,
  error?: string,
): Buffer {
  const list = [...requestHeaders(head, id, now, id)];
  if (error !== undefined) list.push([H.error, error]);
  return requestBytes(host, list, body);
}

/** A reply's body, or the error it carries. */
function replyOf(m: HttpMessage): Uint8Array | MicroError {
  const err = header(m, 'micro-error');
  if (err !== undefined && err !== '') return errorFromHeader(err);
  if (m.statusCode !== 200) return statusError(m);
  if (m.oversized !== undefined) return replyTooLarge(m.oversized);
  return view(m.body);
}

/** A reply over this client's limit, read past: a 413, and the connection carries on. */
function replyTooLarge(bytes: number): MicroError {
  return new MicroError(
    CLIENT_ERROR_ID,
    413,
    `reply of ${bytes} bytes is larger than the limit of this client`,
  );
}

/**
 * A non-200 answer: go-micro's transport refusing the request (a 500 "cannot serve conn", a Go
 * http server's 400). Its code is the status (500 below 400); the detail is the status and body
 * text, what go-micro's client reports.
 */
function statusError(m: HttpMessage): MicroError {
  return new MicroError(
    'go.micro.client.transport',
    m.statusCode >= 400 ? m.statusCode : 500,
    `${m.statusCode} ${m.statusMessage}: ${m.body.toString('utf8')}`.trim(),
  );
}

/**
 * A pooled socket closed by the server before any answer to this request: almost always the
 * server closing an idle connection as the request went out, so it is treated as never having
 * reached a handler (as Go's HTTP client retries such requests) and may be sent again elsewhere.
 */
function retryable(err: MicroError): MicroError {
  return err.fault?.reason === 'reset'
    ? transportFault(503, err.detail, { reason: 'refused', beforeHandler: true })
    : err;
}

/** One TCP connection to a mucp server, with its response parser. */
class Socket {
  private readonly socket: net.Socket;
  private readonly reader: HttpReader;
  private onMessage?: (m: HttpMessage) => void;
  private onError?: (err: MicroError) => void;
  private once = false;
  private connected = false;
  private idleTimer?: NodeJS.Timeout;
  answered = false;
  dead = false;

  constructor(
    address: string,
    config: MucpClientConfig,
    private readonly gone: (s: Socket) => void,
  ) {
    const parsed = parseAddress(address);
    this.reader = new HttpReader(
      'RESPONSE',
      config.maxMessageBytes,
      (m) => {
        this.answered = true;
        const cb = this.onMessage;
        if (this.once) this.onMessage = undefined;
        cb?.(m);
      },
      (err) =>
        this.fail(
          transportFault(502, `bad response from ${address}: ${err.message}`, {
            reason: 'protocol',
            beforeHandler: false,
          }),
        ),
    );
    this.socket = net.connect({
      host: parsed?.host ?? address,
      port: parsed?.port ?? 0,
      noDelay: true,
    });
    const dialTimer = setTimeout(
      () =>
        this.fail(
          transportFault(503, `connecting to ${address} timed out`, {
            reason: 'refused',
            beforeHandler: true,
          }),
        ),
      config.dialTimeoutMs,
    );
    this.socket.once('connect', () => {
      this.connected = true;
      clearTimeout(dialTimer);
    });
    this.socket.on('data', (c: Buffer) => this.reader.push(c));
    this.socket.on('end', () => this.reader.end());
    this.socket.on('error', (err) =>
      this.fail(
        this.connected
          ? transportFault(503, `connection to ${address} lost: ${err.message}`, {
              reason: 'reset',
              beforeHandler: false,
            })
          : transportFault(503, `cannot connect to ${address}: ${err.message}`, {
              reason: 'refused',
              beforeHandler: true,
            }),
      ),
    );
    this.socket.on('close', () => {
      clearTimeout(dialTimer);
      this.fail(
        transportFault(503, `connection to ${address} closed`, {
          reason: this.connected ? 'reset' : 'refused',
          beforeHandler: !this.connected,
        }),
      );
    });
  }

  /** The next response goes to `onMessage`; a failure before it to `onError`. */
  expect(onMessage: (m: HttpMessage) => void, onError: (err: MicroError) => void): void {
    this.clearIdle();
    this.answered = false;
    this.once = true;
    this.onMessage = onMessage;
    this.onError = onError;
  }

  /** Every response goes to `onMessage`. */
  onMessages(onMessage: (m: HttpMessage) => void, onError: (err: MicroError) => void): void {
    this.once = false;
    this.onMessage = onMessage;
    this.onError = onError;
  }

  write(bytes: Buffer): void {
    if (!this.dead) this.socket.write(bytes);
  }

  drained(): Promise<void> {
    return this.dead ? Promise.resolve() : drained(this.socket);
  }

  parkIdle(ms: number): void {
    this.onMessage = undefined;
    this.onError = undefined;
    this.idleTimer = setTimeout(() => this.destroy(), ms);
    this.idleTimer.unref();
    this.socket.unref();
  }

  private clearIdle(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.socket.ref();
  }

  /**
   * Closes the connection. With `reset` it is abandoned mid-call (cancelled, timed out): an RST
   * instead of a FIN, so the server, which serves half-closed connections to the end, aborts the
   * handlers at once.
   */
  destroy(reset = false): void {
    if (this.dead) return;
    this.dead = true;
    this.clearIdle();
    if (reset && !this.socket.destroyed && this.socket.readyState === 'open')
      this.socket.resetAndDestroy();
    else this.socket.destroy();
    this.gone(this);
  }

  private fail(err: MicroError): void {
    const cb = this.onError;
    this.onError = undefined;
    this.onMessage = undefined;
    this.destroy();
    cb?.(err);
  }
}
