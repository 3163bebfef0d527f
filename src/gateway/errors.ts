import type { Socket } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { CLIENT_ERROR_ID, MicroError } from '../errors.js';

/** The id of the errors the gateway makes itself (bad requests, limits, unknown routes). */
export const GATEWAY_ERROR_ID = 'go.micro.gateway';

/**
 * The MicroError an HTTP caller sees for `err`, with the code its HTTP status is. A handler's
 * MicroError keeps its code (400, 404, 409, ...); what the client reports about the upstream
 * becomes a gateway code: a transport fault 502 (504 when it was a timeout), the call's budget
 * spent 504, no node 503. Anything that is not a MicroError is a 500 of the gateway's, with its
 * text kept out of the reply (it may say more than a caller should read).
 */
export function httpErrorOf(err: unknown): MicroError {
  if (!MicroError.is(err)) return MicroError.internal(GATEWAY_ERROR_ID, 'internal gateway error');
  if (err.fault)
    return err.fault.reason === 'timeout'
      ? MicroError.gatewayTimeout(err.id, err.detail)
      : MicroError.badGateway(err.id, err.detail);
  if (err.id === CLIENT_ERROR_ID && err.code === 408)
    return MicroError.gatewayTimeout(err.id, err.detail);
  // A code no HTTP status carries (go-micro allows any number) is reported as the 500 it means.
  if (!Number.isInteger(err.code) || err.code < 400 || err.code > 599)
    return new MicroError(err.id, 500, err.detail);
  return err;
}

/** The reply body of `err`: all four fields, always (an empty detail is still a field). */
export function errorBody(err: MicroError): {
  id: string;
  code: number;
  detail: string;
  status: string;
} {
  return { id: err.id, code: err.code, detail: err.detail, status: err.status };
}

/** The 404 of a path no route serves, or of a service the gateway does not expose. */
export function notFound(request: FastifyRequest): MicroError {
  return MicroError.notFound(
    GATEWAY_ERROR_ID,
    `no route ${request.method} ${request.url.split('?')[0]}`,
  );
}

/** Fastify's own errors (body parsing, limits) as the gateway's typed errors. */
export function fastifyError(err: unknown): unknown {
  if (MicroError.is(err)) return err;
  const status = (err as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500)
    return new MicroError(GATEWAY_ERROR_ID, status, (err as Error).message);
  return err;
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses before there is a request
 * (a head too large, a client too slow, bytes that are not HTTP) answered with the gateway's
 * typed error, then the connection closed.
 */
export function clientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const e =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new MicroError(GATEWAY_ERROR_ID, 431, 'the request head is larger than the gateway allows')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? MicroError.timeout(GATEWAY_ERROR_ID, 'the request did not arrive in time')
        : MicroError.badRequest(GATEWAY_ERROR_ID, 'malformed HTTP request');
  const body = JSON.stringify(errorBody(e));
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${e.code} ${e.status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.destroy();
}
