import net from 'node:net';
import tls from 'node:tls';
import { DeadlineSweep } from '../../internal/deadline-sweep.js';
import { CLIENT_ERROR_ID, MicroError, SERVER_ERROR_ID } from '../../errors.js';
import { parseAddress } from '../../options.js';
import { cancelledError, deadlineFault, transportFault as fault } from '../errors.js';
import { CallTable } from './call-table.js';
import {
  FrameReader,
  HEAD_ALLOWANCE,
  HeadPrefixes,
  HeadTooLargeError,
  Kind,
  bodyFrame,
  emptyFrame,
  headFrame,
  u32Frame,
  FrameWriter,
  type FrameSink,
} from './frame.js';
import { StreamEnd } from './stream.js';
import type { FrameStream, RequestHead } from '../transport.js';

/** What a session needs from its transport. */
export interface SessionConfig {
  maxMessageBytes: number;
  tls: tls.ConnectionOptions | undefined;
  /** Ping the server after this long without traffic, ms. */
  keepaliveMs: number;
  /** Drop the connection when a ping goes unanswered this long, ms. */
  keepaliveTimeoutMs: number;
  /** Close the connection after this long with no calls, ms. */
  idleMs: number;
  /** Give up on a connection not established (TCP, and TLS when used) after this long, ms. */
  dialTimeoutMs: number;
}

/** A unary call waiting for its reply. One object per call holds everything (no closures). */
class PendingCall {
  resolve!: (body: Uint8Array) => void;
  reject!: (err: MicroError) => void;
  /** Epoch ms; Infinity for none. */
  deadline = Infinity;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  stream: StreamEnd | undefined;

  constructor(readonly id: number) {}
}

/**
 * One multiplexed connection to a server: every call and stream to that address shares it,
 * told apart by id. Owns the socket, the keepalive and the calls in flight; when the socket
 * dies every call on it fails with a transport fault (refused before it connected, reset after).
 *
 * The socket holds the event loop only while calls are in flight on it, as grpc-js does with
 * its HTTP/2 sessions: an idle pooled connection does not keep a program that has finished its
 * calls alive until the idle timeout closes it, and a call in flight keeps it alive until it
 * settles.
 */
export class Session implements FrameSink {
  private readonly socket: net.Socket;
  private readonly reader: FrameReader;
  private readonly out: FrameWriter;
  private readonly calls = new CallTable<PendingCall>();
  private nextId = 1;
  private connected = false;
  /** Set once the socket is gone or going: no new calls. */
  dead = false;
  /** Set when the server said goodbye: no new calls, close when the last one ends. */
  draining = false;
  private lastSeen = Date.now();
  private lastUsed = Date.now();
  /**
   * Traffic arrived, or a call started or ended, since the last keepalive tick: the tick then
   * moves `lastSeen` or `lastUsed` to its own time, which is at most one tick late. Reading the
   * clock on every read and every call cost several hundred instructions each time.
   */
  private seen = false;
  private used = false;
  /** The buffer plain TCP reads into (see {@link readBuffer}). */
  private readBuf: Buffer | undefined;
  private pingSent = 0;
  private readonly keepalive: NodeJS.Timeout;
  /**
   * Ends the session when connecting takes too long (a silently dropped SYN, a stalled TLS
   * handshake).
   */
  private dialTimer: NodeJS.Timeout | undefined;
  private readonly prefixes = new HeadPrefixes();
  /** Ends calls whose deadline passed (one timer for all of them). */
  private readonly deadlines = new DeadlineSweep<PendingCall>(
    () => this.calls.values(),
    (call) => this.abandon(call, deadlineFault()),
  );

  constructor(
    readonly address: string,
    private readonly config: SessionConfig,
    private readonly onGone: (s: Session) => void,
  ) {
    const parsed = parseAddress(address);
    const host = parsed?.host ?? address;
    const port = parsed?.port ?? 0;
    this.reader = new FrameReader(this, config.maxMessageBytes + HEAD_ALLOWANCE);
    // Plain TCP reads into one buffer of the session's (onread), where 'data' events made a
    // Buffer per read and went through the Readable machinery: about 3 k instructions per read.
    // TLS decrypts into buffers of its own, so it stays on 'data'.
    this.socket = config.tls
      ? tls.connect({ servername: net.isIP(host) ? undefined : host, ...config.tls, host, port })
      : net.connect({
          host,
          port,
          noDelay: true,
          onread: {
            buffer: () => this.readBuffer(),
            callback: (n: number, buf: Uint8Array) => {
              this.seen = true;
              this.reader.push(buf as Buffer, n, true);
              return true;
            },
          },
        });
    this.socket.setNoDelay(true);
    this.socket.unref(); // ref'd by the first call (see track)
    this.out = new FrameWriter(this.socket);
    this.socket.once(config.tls ? 'secureConnect' : 'connect', () => {
      this.connected = true;
      clearTimeout(this.dialTimer);
    });
    // Without a limit a dropped SYN would hold every call until its own deadline (or the kernel's
    // ~2 min of retries for streams without one); nothing was sent yet, so the fault is "refused".
    this.dialTimer = setTimeout(
      () =>
        this.die(
          fault(503, `connection to ${address} not established within ${config.dialTimeoutMs} ms`, {
            beforeHandler: true,
            reason: 'refused',
          }),
        ),
      config.dialTimeoutMs,
    );
    this.dialTimer.unref();
    if (config.tls)
      this.socket.on('data', (chunk: Buffer) => {
        this.seen = true;
        this.reader.push(chunk);
      });
    this.socket.on('error', (err: NodeJS.ErrnoException) =>
      this.die(
        this.connected
          ? fault(503, `connection to ${address} failed: ${err.message}`, {
              beforeHandler: false,
              reason: 'reset',
            })
          : fault(503, `connection refused: ${address}: ${err.message}`, {
              beforeHandler: true,
              reason: 'refused',
            }),
      ),
    );
    this.socket.on('close', () =>
      this.die(
        this.connected
          ? fault(503, 'connection closed by the server', { beforeHandler: false, reason: 'reset' })
          : fault(503, `connection refused: ${address}`, {
              beforeHandler: true,
              reason: 'refused',
            }),
      ),
    );
    const tick = Math.max(
      10,
      Math.min(config.keepaliveMs, config.idleMs, config.keepaliveTimeoutMs) / 2,
    );
    this.keepalive = setInterval(() => this.tick(), tick);
    this.keepalive.unref();
  }

  /** True while new calls may start here. */
  get usable(): boolean {
    return !this.dead && !this.draining;
  }

  /** Sends a unary request; resolves with the reply body. `now` is the caller's Date.now(). */
  call(
    head: RequestHead,
    body: Uint8Array,
    signal: AbortSignal | undefined,
    now: number,
  ): Promise<Uint8Array> {
    const call = new PendingCall(this.nextCallId());
    let frame: Buffer;
    try {
      frame = headFrame(Kind.Request, call.id, head, body, now, this.prefixes);
    } catch (err) {
      return Promise.reject(headError(err));
    }
    const promise = new Promise<Uint8Array>((resolve, reject) => {
      call.resolve = resolve;
      call.reject = reject;
    });
    this.track(call, head.deadline, signal);
    this.out.write(frame);
    return promise;
  }

  /** Opens a stream. */
  stream(head: RequestHead, signal: AbortSignal | undefined): FrameStream {
    const call = new PendingCall(this.nextCallId());
    const frame = headFrame(Kind.Open, call.id, head, undefined, Date.now(), this.prefixes);
    const end = new StreamEnd(
      {
        data: (body) => this.write(bodyFrame(Kind.Data, call.id, body), true),
        window: (n) => {
          this.write(u32Frame(Kind.Window, call.id, n), true);
        },
        drained: () => this.out.drained(this.dead, connectionClosed),
      },
      this.config.maxMessageBytes,
      (err) => this.abandon(call, err),
    );
    call.stream = end;
    // A stream has no single reply: the promise callbacks end the stream end instead.
    call.resolve = () => end.finish();
    call.reject = (err) => end.fail(err);
    this.track(call, head.deadline, signal);
    this.out.write(frame);
    return {
      send: (body) => end.send(body),
      closeSend: () => {
        if (end.sendClosed || end.ended) return;
        end.sendClosed = true;
        this.write(emptyFrame(Kind.End, call.id));
      },
      cancel: (err) =>
        this.abandon(call, err ? MicroError.from(err, CLIENT_ERROR_ID) : cancelledError()),
      [Symbol.asyncIterator]: end.iterator,
    };
  }

  /**
   * Gives up on a call from this side (deadline, abort, cancel, oversized send): tells the
   * server, so its handler's signal aborts, and fails the call locally with `err`.
   */
  abandon(call: PendingCall, err: MicroError): void {
    if (!this.settle(call)) return;
    this.write(bodyFrame(Kind.Cancel, call.id, Buffer.from(JSON.stringify(err.toJSON()), 'utf8')));
    call.reject(err);
  }

  frame(kind: Kind, id: number, payload: Buffer, lent: boolean): void {
    if (id === 0) {
      if (kind === Kind.Pong) this.pingSent = 0;
      else if (kind === Kind.GoAway) this.goAway();
      return;
    }
    const call = this.calls.get(id);
    if (!call) return; // a call this side already gave up on
    switch (kind) {
      case Kind.Reply:
        if (this.settle(call)) call.resolve(this.reader.hold(payload, lent));
        return;
      case Kind.Data:
        return call.stream?.receive(this.reader.hold(payload, lent));
      case Kind.Window:
        return payload.length >= 4 ? call.stream?.grant(payload.readUInt32BE(0)) : undefined;
      case Kind.End:
        if (this.settle(call)) call.resolve(EMPTY);
        return;
      case Kind.Error: {
        if (!this.settle(call)) return;
        const err = MicroError.fromJSON(payload.toString('utf8'), SERVER_ERROR_ID);
        // The server's 408 for the deadline this side has reached too is the same timeout as this
        // side's own: which of the two timers fires first is the machine's load, not the call's.
        call.reject(err.code === 408 && call.deadline <= Date.now() + 1 ? deadlineFault() : err);
        return;
      }
      case Kind.Refused:
        if (this.settle(call))
          call.reject(
            fault(503, `${this.address} is shutting down`, {
              beforeHandler: true,
              reason: 'unavailable',
            }),
          );
        return;
      default:
        this.broken(`unexpected frame kind ${kind}`);
    }
  }

  oversized(_kind: Kind, id: number, payloadBytes: number): void {
    const call = this.calls.get(id);
    if (call && this.settle(call)) {
      call.reject(
        new MicroError(
          CLIENT_ERROR_ID,
          413,
          `message of about ${payloadBytes} bytes is larger than the limit of ${this.config.maxMessageBytes}`,
        ),
      );
      this.write(emptyFrame(Kind.Cancel, id));
    }
  }

  broken(reason: string): void {
    this.die(
      fault(502, `broken frame from ${this.address}: ${reason}`, {
        beforeHandler: false,
        reason: 'protocol',
      }),
    );
  }

  /** Closes the connection; calls in flight fail with a reset fault. */
  close(): void {
    this.die(
      fault(503, 'connection closed by the client', { beforeHandler: false, reason: 'reset' }),
    );
  }

  private nextCallId(): number {
    const id = this.nextId;
    // Ids are odd and never reused on a connection; near the u32 limit, retire the connection.
    this.nextId += 2;
    if (this.nextId > 0xffff_fff0) this.goAway();
    this.used = true;
    return id;
  }

  private track(call: PendingCall, deadline: number, signal: AbortSignal | undefined): void {
    if (this.calls.size === 0) this.socket.ref();
    this.calls.add(call);
    call.deadline = deadline;
    this.deadlines.arm(deadline);
    if (signal) {
      call.signal = signal;
      call.onAbort = () => this.abandon(call, cancelledError(signal.reason));
      signal.addEventListener('abort', call.onAbort, { once: true });
    }
  }

  /** Removes a call; false when it had already ended. */
  private settle(call: PendingCall): boolean {
    if (!this.calls.delete(call.id)) return false;
    if (this.calls.size === 0 && !this.dead) this.socket.unref();
    if (call.onAbort) call.signal!.removeEventListener('abort', call.onAbort);
    this.used = true;
    if (this.draining && this.calls.size === 0) this.close();
    return true;
  }

  private write(frame: Buffer, streamed?: boolean): boolean {
    return this.dead ? false : this.out.write(frame, streamed);
  }

  private goAway(): void {
    if (this.draining) return;
    this.draining = true;
    this.onGone(this);
    if (this.calls.size === 0) this.close();
  }

  /**
   * The buffer for the next read (Node asks after every read): the same one again, unless the
   * frame reader kept it (the start of a large split frame), when the socket gets a new one.
   */
  private readBuffer(): Buffer {
    if (this.readBuf === undefined || this.reader.retained) {
      this.reader.retained = false;
      this.readBuf = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
    }
    return this.readBuf;
  }

  private tick(): void {
    const now = Date.now();
    if (this.seen) {
      this.seen = false;
      this.lastSeen = now;
    }
    if (this.used) {
      this.used = false;
      this.lastUsed = now;
    }
    if (this.calls.size === 0 && now - this.lastUsed >= this.config.idleMs) return this.close();
    if (!this.connected) return;
    if (this.pingSent > 0) {
      if (now - this.pingSent >= this.config.keepaliveTimeoutMs) {
        this.die(
          fault(503, `no keepalive answer from ${this.address}`, {
            beforeHandler: false,
            reason: 'unavailable',
          }),
        );
      }
      return;
    }
    if (now - this.lastSeen >= this.config.keepaliveMs) {
      this.pingSent = now;
      this.write(bodyFrame(Kind.Ping, 0, PING_PAYLOAD));
    }
  }

  private die(err: MicroError): void {
    if (this.dead) return;
    this.dead = true;
    clearInterval(this.keepalive);
    clearTimeout(this.dialTimer);
    this.deadlines.stop();
    this.reader.stop();
    this.socket.destroy();
    this.onGone(this);
    for (const call of this.calls.values()) {
      if (this.settle(call)) call.reject(err);
    }
  }
}

const EMPTY = new Uint8Array(0);
/** What a plain TCP session reads into: as much as Node's own reads take at a time. */
const READ_BUFFER_BYTES = 64 * 1024;

function connectionClosed(): MicroError {
  return fault(503, 'connection closed', { beforeHandler: false, reason: 'reset' });
}
const PING_PAYLOAD = new Uint8Array(8);

function headError(err: unknown): MicroError {
  if (err instanceof HeadTooLargeError)
    return MicroError.badRequest(CLIENT_ERROR_ID, `request head too large: ${err.message}`);
  return MicroError.from(err, CLIENT_ERROR_ID);
}
