import httpParser from 'http-parser-js';

/**
 * The HTTP/1.1 go-micro's HTTP transport speaks (transport/http_*.go): every message is one whole
 * request (client → server, always `POST`) or one whole response (server → client), with
 * `Content-Length` framing and the message headers as HTTP headers. After the first request
 * go-micro hijacks the connection and reads further requests off it, so a stream is a run of
 * requests one way and a run of responses the other, not paired one to one — which is why this
 * parses messages off the socket itself rather than using `node:http`, whose server pairs every
 * response with a request.
 */

const { HTTPParser } = httpParser;
// Header text is decoded byte for byte (the default, `ascii`, drops the high bit of every byte):
// go-micro writes error JSON and metadata values as raw UTF-8, re-decoded in `header()`.
HTTPParser.encoding = 'latin1';

/** One request or response read off a connection. */
export interface HttpMessage {
  /** Header names lowercased → the first value, as go-micro's transport keeps `v[0]`. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
  /** A response's status code; 0 for a request. */
  readonly statusCode: number;
  /** A response's reason phrase; '' for a request. */
  readonly statusMessage: string;
  /**
   * Set when the body was over the limit: its size so far, the body read past and dropped (the
   * framing is intact, so the connection can carry on). `body` is then empty.
   */
  readonly oversized?: number;
}

/** Why the bytes on a connection are not go-micro's HTTP/1.1. */
export class MalformedHttpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedHttpError';
  }
}

/**
 * Parses the requests (or responses) arriving on one connection. After the first error it
 * parses nothing more: HTTP/1.1 cannot find the next message once framing is lost.
 */
export class HttpReader {
  private readonly parser: InstanceType<typeof HTTPParser>;
  private headers = new Map<string, string>();
  private chunks: Buffer[] = [];
  private size = 0;
  private status = 0;
  private reason = '';
  private failed = false;
  /** The size of the body being read past, when it is over the limit. */
  private oversized?: number;
  /** True until the first byte of the next message has been checked. */
  private expectStart = true;

  constructor(
    kind: 'REQUEST' | 'RESPONSE',
    private readonly maxBodyBytes: number,
    private readonly onMessage: (m: HttpMessage) => void,
    private readonly onError: (err: MalformedHttpError) => void,
  ) {
    const p = new HTTPParser(kind);
    this.parser = p;
    p[HTTPParser.kOnHeadersComplete] = (info) => {
      const h = new Map<string, string>();
      for (let i = 0; i + 1 < info.headers.length; i += 2) {
        const name = info.headers[i].toLowerCase();
        if (!h.has(name)) h.set(name, info.headers[i + 1]);
      }
      this.headers = h;
      this.status = info.statusCode ?? 0;
      this.reason = info.statusMessage ?? '';
      // go-micro frames by Content-Length, or chunked when Go does not know the length (an
      // empty body: Go probes it). Anything else is refused rather than guessed at — both at
      // once, or a length that is not a number, is how requests are smuggled past proxies.
      const te = h.get('transfer-encoding');
      if (te !== undefined && (te.toLowerCase() !== 'chunked' || h.has('content-length')))
        return this.fail(
          new MalformedHttpError(
            `Transfer-Encoding ${JSON.stringify(te)} is not go-micro's framing`,
          ),
        );
      const length = h.get('content-length') ?? '0';
      if (!/^\d{1,15}$/.test(length))
        return this.fail(
          new MalformedHttpError(`Content-Length ${JSON.stringify(length)} is not a length`),
        );
      if (Number(length) > this.maxBodyBytes) this.oversized = Number(length);
    };
    p[HTTPParser.kOnBody] = (chunk, offset, length) => {
      if (this.failed) return;
      this.size += length;
      // Over the limit, the rest of the body is read past and dropped, never buffered.
      if (this.size > this.maxBodyBytes) {
        this.oversized = Math.max(this.oversized ?? 0, this.size);
        this.chunks = [];
      }
      if (this.oversized === undefined)
        this.chunks.push(Buffer.from(chunk.subarray(offset, offset + length)));
    };
    p[HTTPParser.kOnMessageComplete] = () => {
      if (this.failed) return;
      const body = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
      const m: HttpMessage = {
        headers: this.headers,
        body,
        statusCode: this.status,
        statusMessage: this.reason,
        ...(this.oversized !== undefined ? { oversized: this.oversized } : {}),
      };
      this.chunks = [];
      this.size = 0;
      this.oversized = undefined;
      // The first-byte check (push) holds only where a chunk starts a message: when the next
      // message begins inside the chunk being parsed, the next chunk starts mid-message, so it is
      // left to the parser. (http-parser-js's offset and end: where it is in that chunk.)
      const at = p as unknown as { offset?: number; end?: number };
      this.expectStart = at.offset !== undefined && at.end !== undefined && at.offset >= at.end;
      this.onMessage(m);
    };
  }

  /** Feeds bytes read off the connection. */
  push(chunk: Buffer): void {
    if (this.failed) return;
    // A message starts with a method (letters) or `HTTP/`: a first byte that cannot (a TLS
    // ClientHello's 0x16, binary) is refused at once instead of waiting for a line end.
    if (this.expectStart && chunk.length > 0) {
      this.expectStart = false;
      if (!/[A-Za-z]/.test(String.fromCharCode(chunk[0])))
        return this.fail(
          new MalformedHttpError(
            chunk[0] === 0x16
              ? 'a TLS handshake on a plaintext mucp port'
              : `bytes that are not HTTP/1.1 (first byte 0x${chunk[0].toString(16).padStart(2, '0')})`,
          ),
        );
    }
    const r = this.parser.execute(chunk);
    if (r instanceof Error) this.fail(new MalformedHttpError(`malformed HTTP/1.1: ${r.message}`));
  }

  /** The connection ended: a message cut short is an error. */
  end(): void {
    if (this.failed) return;
    const r = this.parser.finish();
    if (r instanceof Error) this.fail(new MalformedHttpError(`malformed HTTP/1.1: ${r.message}`));
  }

  private fail(err: MalformedHttpError): void {
    if (this.failed) return;
    this.failed = true;
    this.onError(err);
  }
}

/** A header value as the peer wrote it: UTF-8 bytes, decoded. */
export function header(m: HttpMessage, name: string): string | undefined {
  const v = m.headers.get(name);
  return v === undefined ? undefined : Buffer.from(v, 'latin1').toString('utf8');
}

/** Headers to write, in order; names as go-micro's canonical form (`Micro-Service`). */
export type HeaderList = readonly (readonly [string, string])[];

/** True when `value` can be a header value (no CR, LF or NUL, which would split the message). */
export function headerSafe(value: string): boolean {
  return !/[\r\n\0]/.test(value);
}

/** One whole request as go-micro's client writes it: `POST /` to `host`. */
export function requestBytes(host: string, headers: HeaderList, body: Uint8Array): Buffer {
  return message(`POST / HTTP/1.1\r\nHost: ${host}\r\n`, headers, body);
}

/** One whole response as go-micro's server writes it. */
export function responseBytes(
  status: number,
  reason: string,
  headers: HeaderList,
  body: Uint8Array,
): Buffer {
  return message(`HTTP/1.1 ${status} ${reason}\r\n`, headers, body);
}

function message(start: string, headers: HeaderList, body: Uint8Array): Buffer {
  let text = start;
  for (const [k, v] of headers) text += `${k}: ${v}\r\n`;
  text += `Content-Length: ${body.length}\r\n\r\n`;
  const head = Buffer.from(text, 'utf8');
  return body.length === 0 ? head : Buffer.concat([head, body]);
}
