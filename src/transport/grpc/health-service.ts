import type {
  Server,
  ServerWritableStream,
  UntypedServiceImplementation,
  handleServerStreamingCall,
} from '@grpc/grpc-js';
import type { ServingStatusSource } from '../transport.js';

/** The grpc.health.v1 service on one gRPC server, until {@link GrpcHealthService.close}. */
export interface GrpcHealthService {
  /** Stops following the source and ends every open Watch (the server is going away). */
  close(): void;
}

/**
 * Adds the standard grpc.health.v1 service (Check, Watch, List) to `server`, answering from
 * `source`: what grpc-go, grpcurl, grpc-health-probe and Kubernetes gRPC probes call. The
 * protocol itself is grpc-node's own implementation (`grpc-health-check`); this only feeds it
 * and ends its Watch streams at shutdown — left open they would hold a graceful shutdown until
 * its grace period runs out, since grpc-js waits for every open call.
 *
 * Loaded on first use: the package reads its .proto when imported, which a process that never
 * serves gRPC need not pay for.
 */
export async function serveGrpcHealth(
  server: Server,
  source: ServingStatusSource,
): Promise<GrpcHealthService> {
  const { HealthImplementation } = await import('grpc-health-check');
  const impl = new HealthImplementation(Object.fromEntries(source.servingStatus()));
  const stop = source.onServingStatus((name, status) => impl.setStatus(name, status));
  const watches = new Set<ServerWritableStream<unknown, unknown>>();
  impl.addToServer({
    addService(definition, implementation: UntypedServiceImplementation) {
      const watch = implementation.watch as handleServerStreamingCall<unknown, unknown>;
      server.addService(definition, {
        ...implementation,
        watch(call: ServerWritableStream<unknown, unknown>) {
          watches.add(call);
          const forget = (): void => {
            watches.delete(call);
          };
          call.on('cancelled', forget);
          call.on('finish', forget);
          watch(call);
        },
      });
    },
  });
  return {
    close() {
      stop();
      for (const call of watches) call.end();
      watches.clear();
    },
  };
}
