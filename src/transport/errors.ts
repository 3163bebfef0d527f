import { DeadlineExceeded } from '../context.js';
import { CLIENT_ERROR_ID, MicroError, SERVER_ERROR_ID, type TransportFault } from '../errors.js';

/**
 * The errors every transport makes the same way, so that a caller sees the same codes and faults
 * whichever wire a call took (memory, native or gRPC).
 */

/**
 * A failure the transport produced itself (refused, reset, unavailable, timeout), marked with its
 * fault: the client retries it and the selector counts it against the node; a handler's error
 * never carries one.
 */
export function transportFault(code: number, detail: string, fault: TransportFault): MicroError {
  return new MicroError(CLIENT_ERROR_ID, code, detail, undefined, { fault });
}

/** The 408 of a call whose deadline passed before its reply came (or before it was sent). */
export function deadlineFault(): MicroError {
  return transportFault(408, 'deadline exceeded', { beforeHandler: false, reason: 'timeout' });
}

/** The 413 of a message over the size limit, refused on this side before it was sent. */
export function messageTooLarge(bytes: number, limit: number): MicroError {
  return new MicroError(
    CLIENT_ERROR_ID,
    413,
    `message of ${bytes} bytes is larger than the limit of ${limit}`,
  );
}

/**
 * The error a call cancelled by its caller's signal ends with: 408, not a fault (nothing failed).
 */
export function cancelledError(cause?: unknown): MicroError {
  return new MicroError(
    CLIENT_ERROR_ID,
    408,
    'call cancelled',
    undefined,
    cause === undefined ? {} : { cause },
  );
}

/**
 * What a server sends when a handler rejected with `err`. A deadline abort that escaped the
 * handler becomes a 408, as Go's context.DeadlineExceeded does; anything else not a
 * MicroError is this server's 500.
 */
export function serverError(err: unknown): MicroError {
  if (err instanceof DeadlineExceeded)
    return MicroError.timeout(SERVER_ERROR_ID, 'deadline exceeded');
  return MicroError.from(err, SERVER_ERROR_ID);
}
