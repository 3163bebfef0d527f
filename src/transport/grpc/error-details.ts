import protobuf from 'protobufjs';
import type { MicroErrorJSON } from '../../errors.js';

/**
 * `grpc-status-details-bin`, as go-micro v2.1+ and v5 write and read it (reference §5.4, §10.8):
 * a `google.rpc.Status` whose first and only detail is an `Any` holding go-micro's
 * `errors.Error {id = 1; code = 2; detail = 3; status = 4}`. Go clients read that detail before
 * the JSON in `grpc-message`; any gRPC client can decode it with the standard Status type.
 */

/** The binary trailer key. */
export const DETAILS_KEY = 'grpc-status-details-bin';
const ERROR_TYPE_URL = 'type.googleapis.com/errors.Error';

const root = protobuf.Root.fromJSON({
  nested: {
    errors: {
      nested: {
        Error: {
          fields: {
            id: { type: 'string', id: 1 },
            code: { type: 'int32', id: 2 },
            detail: { type: 'string', id: 3 },
            status: { type: 'string', id: 4 },
          },
        },
      },
    },
    google: {
      nested: {
        protobuf: {
          nested: {
            Any: {
              fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } },
            },
          },
        },
        rpc: {
          nested: {
            Status: {
              fields: {
                code: { type: 'int32', id: 1 },
                message: { type: 'string', id: 2 },
                details: { rule: 'repeated', type: 'google.protobuf.Any', id: 3 },
              },
            },
          },
        },
      },
    },
  },
});
const ErrorType = root.lookupType('errors.Error');
const StatusType = root.lookupType('google.rpc.Status');

/** The trailer value for an error sent with gRPC status `grpcCode` and message `message`. */
export function encodeErrorDetails(
  grpcCode: number,
  message: string,
  err: Partial<MicroErrorJSON>,
): Buffer {
  const detail = ErrorType.encode(ErrorType.fromObject(err)).finish();
  const status = StatusType.fromObject({
    code: grpcCode,
    message,
    details: [{ type_url: ERROR_TYPE_URL, value: detail }],
  });
  return Buffer.from(StatusType.encode(status).finish());
}

/**
 * The go-micro error in a received trailer: the first detail when it is an `errors.Error` with a
 * positive code (as go-micro reads only `details[0]`); undefined for anything else, including
 * bytes that do not parse.
 */
export function decodeErrorDetails(bytes: Uint8Array): MicroErrorJSON | undefined {
  try {
    const status = StatusType.toObject(StatusType.decode(bytes), { defaults: true }) as {
      details: { type_url: string; value: Uint8Array }[];
    };
    const first = status.details[0];
    if (!first || !first.type_url.endsWith('/errors.Error')) return undefined;
    const e = ErrorType.toObject(ErrorType.decode(first.value), {
      defaults: true,
    }) as MicroErrorJSON;
    return Number.isInteger(e.code) && e.code > 0 ? e : undefined;
  } catch {
    return undefined;
  }
}
