import http2 from 'node:http2';
import { MicroError } from '../../src/index.js';
import { startFixture, type Fixture } from '../helpers/processes.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';

/**
 * A gRPC client with no manners, for fuzzing the server's framing: it sends whatever path,
 * headers and DATA bytes it is given over node:http2, and reports what came back (or that
 * nothing came back in time, which the suites count as a hang).
 */

/** What one raw request got. */
export interface RawAnswer {
  /** `:status` of the response headers, if any came. */
  httpStatus?: number;
  /** `grpc-status` (trailers, or headers for a trailers-only answer). */
  grpcStatus?: number;
  grpcMessage?: string;
  /** DATA bytes received. */
  body: Buffer;
  /** The stream was reset or the session failed instead (the code or message). */
  reset?: string;
}

/**
 * Header names node:http2 will send (RFC 9110 tokens, lowercase); anything else fails the whole
 * session on the client side and never reaches a server, so generators keep to these.
 */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

/** gRPC's length-prefixed message: flag byte, 4-byte big-endian length, payload. */
export function frame(
  payload: Uint8Array,
  opts: { compressed?: boolean; length?: number } = {},
): Buffer {
  const head = Buffer.alloc(5);
  head[0] = opts.compressed ? 1 : 0;
  head.writeUInt32BE(opts.length ?? payload.length, 1);
  return Buffer.concat([head, payload]);
}

/**
 * Sends one request on `session`; rejects only if no answer arrives within `timeoutMs` (a hang).
 */
export function rawRequest(
  session: http2.ClientHttp2Session,
  path: string,
  headers: Record<string, string>,
  data: Buffer,
  timeoutMs = 10_000,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const answer: RawAnswer = { body: Buffer.alloc(0) };
    const chunks: Buffer[] = [];
    let req: http2.ClientHttp2Stream;
    const timer = setTimeout(() => {
      req?.close(http2.constants.NGHTTP2_CANCEL);
      reject(
        new Error(`no answer within ${timeoutMs} ms for ${JSON.stringify(path).slice(0, 200)}`),
      );
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      answer.body = Buffer.concat(chunks);
      resolve(answer);
    };
    const read = (h: http2.IncomingHttpHeaders): void => {
      if (h[':status'] !== undefined) answer.httpStatus = Number(h[':status']);
      if (h['grpc-status'] !== undefined) answer.grpcStatus = Number(h['grpc-status']);
      if (typeof h['grpc-message'] === 'string')
        answer.grpcMessage = decodeURIComponent(h['grpc-message']);
    };
    try {
      req = session.request({
        ':method': 'POST',
        ':path': path,
        'content-type': 'application/grpc',
        'x-content-type': 'application/grpc+json',
        te: 'trailers',
        ...headers,
      });
    } catch (err) {
      // node:http2 refused to even send it (e.g. an illegal header): nothing reached the server.
      clearTimeout(timer);
      answer.reset = `not sent: ${(err as Error).message}`;
      resolve(answer);
      return;
    }
    req.on('response', read);
    req.on('trailers', read);
    req.on('data', (c: Buffer) => {
      if (chunks.length < 64) chunks.push(c);
    });
    req.on('error', (err: Error) => {
      answer.reset = err.message;
    });
    req.on('close', () => {
      if (answer.grpcStatus === undefined && answer.reset === undefined)
        answer.reset = `closed, rstCode ${req.rstCode}`;
      done();
    });
    req.end(data);
  });
}

/** Decodes go-micro's error JSON from a grpc-message, or undefined when it is not one. */
export function microErrorOf(message: string | undefined): MicroError | undefined {
  if (!message?.startsWith('{')) return undefined;
  try {
    const e = MicroError.fromJSON(message);
    return e.id && e.code > 0 ? e : undefined;
  } catch {
    return undefined;
  }
}

/** The fuzz target in its own process, with a local registry dir of its own. */
export interface Target extends AsyncDisposable {
  fixture: Fixture;
  address: string;
  dir: TempDir;
  /** True while the process has not exited. */
  alive(): boolean;
}

export async function startTarget(): Promise<Target> {
  const dir = await makeTempDir('fuzz-');
  const fixture = startFixture('fuzz-target', ['--serve'], {
    TSMICRO_REGISTRY_DIR: dir.path,
    TSMICRO_LOG_LEVEL: 'silent',
  });
  const [, address] = await fixture.waitForLine(/^ready (\S+)$/, 30_000);
  let exited = false;
  void fixture.exited.then(() => {
    exited = true;
  });
  return {
    fixture,
    address: address,
    dir,
    alive: () => !exited,
    async [Symbol.asyncDispose]() {
      await fixture.kill('SIGKILL').catch(() => undefined);
      await dir[Symbol.asyncDispose]();
    },
  };
}
