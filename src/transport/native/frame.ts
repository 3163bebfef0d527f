import type { Socket } from 'node:net';
import { isReservedKey, type Metadata } from '../../metadata.js';
import { copyOut, view } from '../buffers.js';

/**
 * The native transport's wire format. Every frame is
 *
 *     u32 length (of everything after it) | u8 kind | u32 call id | payload
 *
 * big-endian. Calls are multiplexed on one connection by id (client-chosen, odd, never reused on
 * a connection); id 0 is the connection itself (ping, pong, goaway). A request head is
 *
 *     u32 timeout ms (0xffffffff: none) | str service | str endpoint | str content type |
 *     u16 metadata pairs | (str key | lstr value)* | body
 *
 * with `str` a u16 byte length and UTF-8 bytes and `lstr` the same with a u32 length. The budget
 * travels as a duration, as gRPC's `grpc-timeout` does, so the peers' clocks need not agree.
 */

/**
 * Writes frames to a socket, coalescing frames written in the same tick into few writes (joined
 * on the next tick, or as soon as {@link FLUSH_FRAMES} are queued): under load one syscall
 * carries several calls' frames, where one write per frame spent most of a small call's CPU in
 * the kernel.
 */
export class FrameWriter {
  private pending: Buffer[] = [];
  private bytes = 0;
  /** How many of `pending` are streamed frames. */
  private streamed = 0;
  /** A flush is queued as a microtask (see {@link write}). */
  private scheduled = false;
  /** A flush is queued for the end of the tick. */
  private tickScheduled = false;
  private readonly flushNow = (): void => this.flush();

  constructor(private readonly socket: Socket) {}

  /**
   * Queues `frame`; false when the socket is past its high-water mark (wait for 'drain'). A
   * `streamed` frame (a stream's Data or Window) does not count towards {@link FLUSH_FRAMES}: a
   * stream's messages come many to a tick, and writing them 6 at a time spent a fifth of a
   * small message's CPU in write system calls.
   */
  write(frame: Buffer, streamed = false): boolean {
    this.pending.push(frame);
    this.bytes += frame.length;
    if (streamed) this.streamed++;
    if (this.pending.length - this.streamed >= FLUSH_FRAMES || this.bytes >= FLUSH_BYTES) {
      // The tick's flush, if scheduled, stays scheduled for the frames still to come.
      this.writeOut();
      return !this.socket.writableNeedDrain;
    }
    // A call's frames are joined by a microtask queued behind the reactions already queued:
    // the calls a read or a batch of replies set going are all at the same depth of promise
    // reactions, so they write before it runs. A stream's sender queues a message per
    // reaction, one after another, so its frames wait for the end of the tick instead.
    if (streamed) {
      if (!this.tickScheduled) {
        this.tickScheduled = true;
        process.nextTick(flushWriter, this);
      }
    } else if (!this.scheduled) {
      this.scheduled = true;
      void RESOLVED.then(this.flushNow);
    }
    return !this.socket.writableNeedDrain;
  }

  /** Writes what is queued now. */
  flush(): void {
    this.scheduled = false;
    this.writeOut();
  }

  /** The end-of-tick flush (the stream frames' one). */
  flushTick(): void {
    this.tickScheduled = false;
    this.writeOut();
  }

  /**
   * Resolves once the socket has room again ('drain'), or rejects with `closed()` when the socket
   * closes first, or already has (`dead`: its owner has given it up).
   */
  drained(dead: boolean, closed: () => Error): Promise<void> {
    if (dead) return Promise.reject(closed());
    return new Promise((resolve, reject) => {
      const onDrain = (): void => {
        this.socket.off('close', onClose);
        resolve();
      };
      const onClose = (): void => {
        this.socket.off('drain', onDrain);
        reject(closed());
      };
      this.socket.once('drain', onDrain);
      this.socket.once('close', onClose);
    });
  }

  private writeOut(): void {
    const pending = this.pending;
    if (pending.length === 0) return;
    this.pending = [];
    const bytes = this.bytes;
    this.bytes = 0;
    this.streamed = 0;
    const socket = this.socket;
    if (socket.destroyed) return;
    if (pending.length === 1) socket.write(pending[0]);
    else if (bytes < pending.length * LARGE_FRAME) socket.write(Buffer.concat(pending, bytes));
    else {
      // Large frames go out as they are, in one writev: joining them would copy every byte again.
      socket.cork();
      for (const frame of pending) socket.write(frame);
      socket.uncork();
    }
  }
}

/**
 * A tick's frames are written in slices of this many rather than all at once: the peer starts on
 * the first slice while this side builds the next, so two processes on two cores overlap instead
 * of taking turns. Measured at 16 and 128 calls in flight (bench/, 2 cores): 4–8 frames per
 * write gave about 1.5× the calls/s of one write per tick and of 16 per write; fewer frames
 * per write cost more syscalls per call.
 */
const FLUSH_FRAMES = 6;
/** Large frames are written once this many bytes are queued, whatever their count. */
const FLUSH_BYTES = 64 * 1024;
/** Frames this large on average are written without joining them first. */
const LARGE_FRAME = 4 * 1024;

const RESOLVED = Promise.resolve();

function flushWriter(writer: FrameWriter): void {
  writer.flushTick();
}

/** Frame kinds. */
export const enum Kind {
  /** Client → server: a unary request (head + body). */
  Request = 1,
  /** Client → server: opens a stream (head, no body). */
  Open = 2,
  /** Server → client: a unary call's successful reply body. */
  Reply = 3,
  /** Either way: one stream message. */
  Data = 4,
  /** Client → server: half-close. Server → client: the stream finished cleanly. */
  End = 5,
  /** Server → client: the call failed; payload is go-micro's error JSON. Ends the call. */
  Error = 6,
  /**
   * Client → server: the caller gave up; payload is the error JSON the handler should see (may be
   * empty).
   */
  Cancel = 7,
  /**
   * Either way: the receiver of a stream consumed this many messages (u32); the sender may send
   * that many more.
   */
  Window = 8,
  /** Client → server, id 0: keepalive probe (8 opaque bytes, echoed). */
  Ping = 9,
  /** Server → client, id 0: answer to a ping. */
  Pong = 10,
  /** Server → client, id 0: the server is closing; start no new calls on this connection. */
  GoAway = 11,
  /**
   * Server → client: this call was never started (the server is closing); safe to retry elsewhere.
   */
  Refused = 12,
}

/** Bytes before a frame's payload: length, kind, id. */
export const FRAME_HEADER = 9;
/** `timeout ms` value meaning "no deadline". */
export const NO_TIMEOUT = 0xffff_ffff;
/** Room for a head (endpoint, metadata) on top of the message size limit when sizing frames. */
export const HEAD_ALLOWANCE = 64 * 1024;
/**
 * Stream messages a sender may always have unconsumed at the receiver, whatever their size; the
 * receiver sends a Window frame once it consumed half of this many, so the sender never waits
 * on a consumer that keeps up. Every tsmicro version keeps at least this many in flight.
 */
export const STREAM_WINDOW = 64;
/**
 * Past {@link STREAM_WINDOW}, a sender may have up to this many messages in flight while they
 * add up to less than {@link STREAM_WINDOW_BYTES}: 64 small messages are a few KiB, too little
 * to keep two processes busy, and the sender would wait for a Window frame every 32 messages.
 */
export const STREAM_WINDOW_MAX = 1024;
/** The bytes of messages in flight past which only {@link STREAM_WINDOW} of them may be. */
export const STREAM_WINDOW_BYTES = 1024 * 1024;

/** A frame header with an empty payload. */
export function emptyFrame(kind: Kind, id: number): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER);
  buf.writeUInt32BE(5, 0);
  buf[4] = kind;
  buf.writeUInt32BE(id, 5);
  return buf;
}

/** A frame whose payload is `body` (copied once into the frame, so the caller may reuse it). */
export function bodyFrame(kind: Kind, id: number, body: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER + body.byteLength);
  buf.writeUInt32BE(5 + body.byteLength, 0);
  buf[4] = kind;
  buf.writeUInt32BE(id, 5);
  buf.set(body, FRAME_HEADER);
  return buf;
}

/** A frame carrying a u32 (Window). */
export function u32Frame(kind: Kind, id: number, value: number): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER + 4);
  buf.writeUInt32BE(9, 0);
  buf[4] = kind;
  buf.writeUInt32BE(id, 5);
  buf.writeUInt32BE(value, 9);
  return buf;
}

/** What a head needs to be written; the deadline is absolute (epoch ms, Infinity for none). */
export interface WireHead {
  service: string;
  endpoint: string;
  contentType: string;
  metadata: Metadata;
  deadline: number;
}

/** Thrown by {@link headFrame} when a head field cannot be framed (a string over 64 KiB). */
export class HeadTooLargeError extends Error {}

/**
 * A Request or Open frame: the head, then `body` (none for Open). One allocation: sizes are
 * measured first, then everything is written in place. Reserved metadata keys are left out.
 */
export function headFrame(
  kind: Kind,
  id: number,
  head: WireHead,
  body: Uint8Array | undefined,
  now: number,
  prefixes?: HeadPrefixes,
): Buffer {
  const md = head.metadata;
  const prefix = prefixes
    ? prefixes.get(head.service, head.endpoint, head.contentType)
    : encodePrefix(head.service, head.endpoint, head.contentType);
  let size = FRAME_HEADER + 4 + prefix.length + 2;
  let pairs = 0;
  for (const key in md) {
    if (isReservedKey(key)) continue;
    size += 6 + strBytes(key) + Buffer.byteLength(md[key], 'utf8');
    pairs++;
  }
  if (pairs > 0xffff) throw new HeadTooLargeError(`${pairs} metadata entries is more than 65535`);
  const bodyLength = body ? body.byteLength : 0;
  size += bodyLength;
  const buf = Buffer.allocUnsafe(size);
  buf.writeUInt32BE(size - 4, 0);
  buf[4] = kind;
  buf.writeUInt32BE(id, 5);
  const deadline = head.deadline;
  buf.writeUInt32BE(
    Number.isFinite(deadline)
      ? Math.min(NO_TIMEOUT - 1, Math.max(0, Math.ceil(deadline - now)))
      : NO_TIMEOUT,
    9,
  );
  buf.set(prefix, 13);
  let off = 13 + prefix.length;
  buf.writeUInt16BE(pairs, off);
  off += 2;
  for (const key in md) {
    if (isReservedKey(key)) continue;
    off = writeStr(buf, off, key);
    const len = buf.write(md[key], off + 4, 'utf8');
    buf.writeUInt32BE(len, off);
    off += 4 + len;
  }
  if (body) buf.set(body, off);
  return buf;
}

interface CachedPrefix {
  service: string;
  contentType: string;
  bytes: Buffer;
}

/**
 * Encoded `str service | str endpoint | str content type` of recent heads, by endpoint: a client
 * calls few endpoints, and encoding three strings per call was a tenth of its framing cost.
 * Bounded: cleared when full; long prefixes are not kept.
 */
export class HeadPrefixes {
  private readonly cache = new Map<string, CachedPrefix>();

  get(service: string, endpoint: string, contentType: string): Buffer {
    const hit = this.cache.get(endpoint);
    if (hit !== undefined && hit.service === service && hit.contentType === contentType)
      return hit.bytes;
    const bytes = encodePrefix(service, endpoint, contentType);
    if (bytes.length <= PREFIX_CACHE_MAX_BYTES) {
      if (this.cache.size >= PREFIX_CACHE_ENTRIES) this.cache.clear();
      this.cache.set(endpoint, { service, contentType, bytes });
    }
    return bytes;
  }
}

const PREFIX_CACHE_ENTRIES = 512;
const PREFIX_CACHE_MAX_BYTES = 1024;

function encodePrefix(service: string, endpoint: string, contentType: string): Buffer {
  const bytes = Buffer.allocUnsafe(
    6 + strBytes(service) + strBytes(endpoint) + strBytes(contentType),
  );
  writeStr(bytes, writeStr(bytes, writeStr(bytes, 0, service), endpoint), contentType);
  return bytes;
}

/** A head as read off the wire; `deadline` already turned back into epoch ms. */
export interface DecodedHead extends WireHead {
  /** Offset of the body within the payload. */
  bodyOffset: number;
}

/** Thrown by {@link readHead} on a payload that is not a well-formed head. */
export class MalformedHeadError extends Error {}

/**
 * Reads a head from a Request/Open payload. Metadata keys are lowercased and reserved ones
 * dropped here, so a peer cannot smuggle them to a handler.
 */
export function readHead(payload: Buffer, now: number, cache?: HeadCache): DecodedHead {
  if (payload.length < 12) throw new MalformedHeadError('head too short');
  const timeout = payload.readUInt32BE(0);
  const cursor = { off: 4 };
  let service: string;
  let endpoint: string;
  let contentType: string;
  const prefixEnd = prefixEndOf(payload);
  if (
    cache?.bytes !== undefined &&
    prefixEnd - 4 === cache.bytes.length &&
    sameBytes(payload, 4, cache.bytes)
  ) {
    ({ service, endpoint, contentType } = cache);
    cursor.off = prefixEnd;
  } else {
    service = readStr(payload, cursor);
    endpoint = readStr(payload, cursor);
    contentType = readStr(payload, cursor);
    if (cache && cursor.off - 4 <= PREFIX_CACHE_MAX_BYTES) {
      cache.bytes = Buffer.from(payload.subarray(4, cursor.off));
      cache.service = service;
      cache.endpoint = endpoint;
      cache.contentType = contentType;
    }
  }
  if (cursor.off + 2 > payload.length) throw new MalformedHeadError('head truncated');
  const pairs = payload.readUInt16BE(cursor.off);
  cursor.off += 2;
  const metadata: Record<string, string> = {};
  for (let i = 0; i < pairs; i++) {
    const key = readStr(payload, cursor).toLowerCase();
    if (cursor.off + 4 > payload.length) throw new MalformedHeadError('metadata truncated');
    const len = payload.readUInt32BE(cursor.off);
    cursor.off += 4;
    if (cursor.off + len > payload.length) throw new MalformedHeadError('metadata truncated');
    const value = payload.toString('utf8', cursor.off, cursor.off + len);
    cursor.off += len;
    if (!isReservedKey(key)) metadata[key] = value;
  }
  return {
    service,
    endpoint,
    contentType,
    metadata,
    deadline: timeout === NO_TIMEOUT ? Infinity : now + timeout,
    bodyOffset: cursor.off,
  };
}

/**
 * The strings of the last head a connection read, with their bytes: calls on one connection
 * mostly repeat service, endpoint and content type, and comparing bytes costs less than decoding
 * three strings.
 */
export interface HeadCache {
  bytes?: Buffer;
  service: string;
  endpoint: string;
  contentType: string;
}

/**
 * Whether `buf` holds `bytes` at `off` (in range). A head's prefix is a few dozen bytes, which a
 * loop compares in less than Buffer#compare spends checking its five arguments.
 */
function sameBytes(buf: Buffer, off: number, bytes: Buffer): boolean {
  const n = bytes.length;
  if (n > SHORT_COMPARE) return buf.compare(bytes, 0, n, off, off + n) === 0;
  for (let i = 0; i < n; i++) if (buf[off + i] !== bytes[i]) return false;
  return true;
}
const SHORT_COMPARE = 128;

/** Where the three head strings end, or 0 when the payload is too short to hold them. */
function prefixEndOf(payload: Buffer): number {
  let off = 4;
  for (let i = 0; i < 3; i++) {
    if (off + 2 > payload.length) return 0;
    off += 2 + payload.readUInt16BE(off);
  }
  return off <= payload.length ? off : 0;
}

function strBytes(s: string): number {
  return s.length < 64 && isAscii(s) ? s.length : Buffer.byteLength(s, 'utf8');
}

/** Short ASCII strings (endpoints, keys) are the norm; measuring them needs no encoder call. */
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function writeStr(buf: Buffer, off: number, s: string): number {
  const len = buf.write(s, off + 2, 'utf8');
  if (len > 0xffff) throw new HeadTooLargeError(`a head field of ${len} bytes is more than 65535`);
  buf.writeUInt16BE(len, off);
  return off + 2 + len;
}

function readStr(buf: Buffer, cursor: { off: number }): string {
  if (cursor.off + 2 > buf.length) throw new MalformedHeadError('head truncated');
  const len = buf.readUInt16BE(cursor.off);
  const start = cursor.off + 2;
  if (start + len > buf.length) throw new MalformedHeadError('head truncated');
  cursor.off = start + len;
  return buf.toString('utf8', start, start + len);
}

/**
 * Receives decoded frames from a {@link FrameReader}. A `kind` is the byte the peer sent: one of
 * {@link Kind}, or a kind this side does not know (a newer peer, a broken one), which each sink
 * answers in its `default` branch.
 */
export interface FrameSink {
  /**
   * One whole frame; `payload` is a view into the socket's chunk (not copied). When `lent`, that
   * chunk is a read buffer the socket fills again on its next read: a payload kept past this call
   * must be copied or its buffer given up (see {@link FrameReader.hold}).
   */
  frame(kind: Kind, id: number, payload: Buffer, lent: boolean): void;
  /** A frame larger than the limit was skipped without buffering it. */
  oversized(kind: Kind, id: number, payloadBytes: number): void;
  /**
   * The byte stream is not frames (a length too small to hold a header): the connection must go.
   */
  broken(reason: string): void;
}

/**
 * Cuts a TCP byte stream into frames. Frames wholly inside a chunk are handed out as views
 * without copying; a frame split across chunks is gathered once it is complete. A frame over
 * `maxPayload` is never buffered: its bytes are skipped and the sink told, so a huge request
 * costs the server no memory and the connection survives.
 *
 * A chunk pushed as `lent` is a read buffer its socket reuses (`net.connect`'s `onread`): what
 * the reader keeps of it past `push` (the start of a split frame) is copied when small, or kept
 * as it is when large, with {@link retained} set so that the socket reads into a fresh buffer.
 */
export class FrameReader {
  private parts: Buffer[] = [];
  private buffered = 0;
  /** Bytes needed before the buffered parts are worth joining. */
  private need = FRAME_HEADER;
  /** Bytes of an oversized frame still to skip. */
  private skip = 0;
  private dead = false;
  /** Set when a lent chunk was kept whole: its owner must not read into it again. */
  retained = false;

  constructor(
    private readonly sink: FrameSink,
    private readonly maxPayload: number,
  ) {}

  /** Reads `chunk[0..end)` (all of it by default). */
  push(chunk: Buffer, end = chunk.length, lent = false): void {
    if (this.dead) return;
    let off = 0;
    if (this.skip > 0) {
      const n = Math.min(this.skip, end);
      this.skip -= n;
      if (n === end) return;
      off = n;
    }
    if (this.buffered > 0) {
      if (this.buffered + end - off < this.need) {
        this.keep(chunk, off, end, lent);
        return;
      }
      this.parts.push(chunk.subarray(off, end));
      chunk = Buffer.concat(this.parts, this.buffered + end - off);
      this.parts = [];
      this.buffered = 0;
      off = 0;
      end = chunk.length;
      lent = false;
    }
    while (end - off >= FRAME_HEADER) {
      const length = chunk.readUInt32BE(off);
      if (length < 5) {
        this.dead = true;
        this.sink.broken(`frame length ${length} is shorter than a frame header`);
        return;
      }
      const kind = chunk[off + 4] as Kind; // or an unknown kind: see FrameSink
      const id = chunk.readUInt32BE(off + 5);
      const payloadBytes = length - 5;
      if (payloadBytes > this.maxPayload) {
        this.sink.oversized(kind, id, payloadBytes);
        const available = end - off - FRAME_HEADER;
        if (available >= payloadBytes) {
          off += FRAME_HEADER + payloadBytes;
          continue;
        }
        this.skip = payloadBytes - available;
        return;
      }
      if (end - off < 4 + length) break;
      this.sink.frame(kind, id, chunk.subarray(off + FRAME_HEADER, off + 4 + length), lent);
      if (this.dead) return;
      off += 4 + length;
    }
    if (off < end) {
      this.keep(chunk, off, end, lent);
      // An oversized frame is detected (and skipped) as soon as its 9-byte header is here.
      const length = end - off >= 4 ? chunk.readUInt32BE(off) : 0;
      this.need = length - 5 > this.maxPayload ? FRAME_HEADER : Math.max(FRAME_HEADER, 4 + length);
    }
  }

  /**
   * `payload` (from {@link FrameSink.frame}) as the sink may keep it: a view when it was not
   * lent; a copy of a small lent one; a view of a large one, whose buffer the socket then stops
   * reading into (see {@link retained}).
   */
  hold(payload: Buffer, lent: boolean): Uint8Array {
    if (!lent) return view(payload);
    if (payload.length < payload.buffer.byteLength / 4) return copyOut(payload);
    this.retained = true;
    return view(payload);
  }

  /** Buffers `chunk[off..end)` until the frame it starts (or continues) is complete. */
  private keep(chunk: Buffer, off: number, end: number, lent: boolean): void {
    let part = off === 0 && end === chunk.length ? chunk : chunk.subarray(off, end);
    if (lent) {
      // A small rest is copied; a large one keeps its whole buffer (at most 4× its bytes), where
      // copying every chunk of a large split frame would copy its bytes twice.
      if (part.length < chunk.length / 4) part = Buffer.from(part);
      else this.retained = true;
    }
    this.parts.push(part);
    this.buffered += part.length;
  }

  /** Stops reading (the connection is going away). */
  stop(): void {
    this.dead = true;
    this.parts = [];
  }
}
