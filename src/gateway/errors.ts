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
