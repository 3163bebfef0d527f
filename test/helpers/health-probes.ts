import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath } from 'grpc-health-check';
import { get } from 'node:http';

/**
 * Probes as outsiders make them: a plain @grpc/grpc-js client of the standard grpc.health.v1
 * .proto (no tsmicro on its side), and a plain HTTP GET.
 */

type Callback<T> = (err: grpc.ServiceError | null, rsp?: T) => void;
interface HealthStub extends grpc.Client {
  Check(req: { service: string }, cb: Callback<{ status: string }>): void;
  List(req: object, cb: Callback<{ statuses: Record<string, { status: string }> }>): void;
  Watch(req: { service: string }): grpc.ClientReadableStream<{ status: string }>;
}

const pkg = grpc.loadPackageDefinition(
  loadSync(protoPath, { enums: String, defaults: true, keepCase: true }),
) as unknown as {
  grpc: {
    health: {
      v1: { Health: new (address: string, creds: grpc.ChannelCredentials) => HealthStub };
    };
  };
};

/** A Watch in progress: every status received so far, in order. */
export interface HealthWatch {
  readonly statuses: string[];
  cancel(): void;
  /** Resolves once the stream ended (with its status code). */
  readonly ended: Promise<number>;
}

export interface GrpcHealthClient {
  /** Check(service): the status name, or rejects with the gRPC error (NOT_FOUND for unknown). */
  check(service: string): Promise<string>;
  /** List(): service name → status name. */
  list(): Promise<Record<string, string>>;
  watch(service: string): HealthWatch;
  close(): void;
}

export function grpcHealthClient(address: string): GrpcHealthClient {
  const stub = new pkg.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
  return {
    check: (service) =>
      new Promise((resolve, reject) =>
        stub.Check({ service }, (err, rsp) => (err ? reject(err) : resolve(rsp!.status))),
      ),
    list: () =>
      new Promise((resolve, reject) =>
        stub.List({}, (err, rsp) =>
          err
            ? reject(err)
            : resolve(
                Object.fromEntries(
                  Object.entries(rsp!.statuses).map(([name, s]) => [name, s.status]),
                ),
              ),
        ),
      ),
    watch(service) {
      const call = stub.Watch({ service });
      const statuses: string[] = [];
      call.on('data', (m: { status: string }) => statuses.push(m.status));
      const ended = new Promise<number>((resolve) => {
        call.on('error', (err: grpc.ServiceError) => resolve(err.code));
        call.on('status', (s: grpc.StatusObject) => resolve(s.code));
      });
      return { statuses, cancel: () => call.cancel(), ended };
    },
    close: () => stub.close(),
  };
}

/** A plain HTTP GET: the status code and the parsed JSON body. */
export function httpGet(
  address: string,
  path: string,
): Promise<{ code: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = get(`http://${address}${path}`, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        try {
          resolve({ code: res.statusCode!, body: JSON.parse(text) as Record<string, unknown> });
        } catch (err) {
          reject(new Error(`GET ${path}: not JSON (${res.statusCode}): ${text}`, { cause: err }));
        }
      });
    });
    req.on('error', reject);
  });
}
