import protobuf from 'protobufjs';
import type { Codec } from '../codec/codec.js';
import { protoCodec } from '../codec/proto.js';
import type { HandlerMethods } from './server.js';

/**
 * go-micro's `Debug.Health` (debug/handler/debug.go): `{status: "ok"}` from any node that
 * serves, whatever is asked, so go-micro tools that probe a node this way see a tsmicro node as
 * healthy. go-micro's answer means "the process answers" — liveness; readiness is told by
 * grpc.health.v1, HTTP `/health/ready` and the registry, which lists a node only while ready.
 * Like go-micro's internal handlers it is not published in the registry, and an application
 * handler named `Debug` replaces it.
 */
export const debugHandler: HandlerMethods = {
  Health: () => ({ status: 'ok' }),
};

/**
 * Its messages in protobuf (debug/proto/debug.proto: `HealthRequest {string service = 1}`,
 * `HealthResponse {string status = 1}`), which go-micro's gRPC client sends by default: the
 * server's own codecs need not know them. JSON callers get the server's JSON codec.
 */
export const debugCodecs: readonly Codec[] = [
  protoCodec({
    protos: protobuf.Root.fromJSON({
      nested: {
        debug: {
          nested: {
            HealthRequest: { fields: { service: { type: 'string', id: 1 } } },
            HealthResponse: { fields: { status: { type: 'string', id: 1 } } },
          },
        },
      },
    }),
    endpoints: {
      'Debug.Health': { request: 'debug.HealthRequest', response: 'debug.HealthResponse' },
    },
  }),
];
