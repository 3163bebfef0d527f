import { credentials, Client as GrpcClient, type ServiceError } from '@grpc/grpc-js';
import type { Command } from 'commander';
import protobuf from 'protobufjs';
import { MicroError, parseGoDuration } from '../index.js';
import { UsageError } from './errors.js';
import { printJson, printTable } from './output.js';
import type { Run } from './program.js';

/**
 * `tsmicro health <service>`: asks every node of the service for its status over the standard
 * gRPC health protocol (grpc.health.v1 `Health/Check`, what grpcurl and Kubernetes gRPC probes
 * ask), at the node's registered address. Exit 0 when every node is SERVING, 1 otherwise.
 */

// grpc.health.v1 (grpc/grpc-proto health.proto): HealthCheckRequest { string service = 1; },
// HealthCheckResponse { ServingStatus status = 1; }. Two one-field messages; the enum travels
// as a varint, so it is declared as int32 and named below.
const Request = new protobuf.Type('HealthCheckRequest').add(
  new protobuf.Field('service', 1, 'string'),
);
const Response = new protobuf.Type('HealthCheckResponse').add(
  new protobuf.Field('status', 1, 'int32'),
);
const STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;
const CHECK = '/grpc.health.v1.Health/Check';
/** What a failed Check means: NOT_FOUND is how a health server says it has no such service. */
const GRPC_FAILURE: Readonly<Record<number, string>> = {
  5: 'SERVICE_UNKNOWN',
  12: 'UNIMPLEMENTED',
};

/** One node's answer. */
interface NodeHealth {
  node: string;
  address: string;
  status: string;
  detail?: string;
}

export function register(program: Command, run: Run): void {
  program
    .command('health')
    .description("Check each node's grpc.health.v1 status")
    .argument('<service>', 'service name')
    .option(
      '--check <name>',
      'the health service name asked for ("" is the whole server; default: the service name)',
    )
    .option('--timeout <duration>', 'per node, e.g. 2s', '5s')
    .action((service: string, flags: { check?: string; timeout: string }, cmd: Command) =>
      run(cmd, async ({ ctx, output }) => {
        const timeoutMs = parseGoDuration(flags.timeout);
        if (timeoutMs === undefined || timeoutMs === 0)
          throw new UsageError(
            `--timeout: expected a Go duration such as 2s, got ${JSON.stringify(flags.timeout)}`,
          );
        const registry = await ctx.registry();
        const versions = await registry.getService(service);
        const nodes = versions.flatMap((v) => v.nodes);
        if (nodes.length === 0)
          throw MicroError.notFound(
            'tsmicro.cli',
            `service ${service}: no nodes in the ${registry.name} registry`,
          );
        const results = await Promise.all(
          nodes.map((n) => check(n.id, n.address, flags.check ?? service, timeoutMs)),
        );
        if (output === 'json') printJson(results);
        else
          printTable(
            ['NODE', 'ADDRESS', 'STATUS'],
            results.map((r) => [
              r.node,
              r.address,
              r.detail ? `${r.status} (${r.detail})` : r.status,
            ]),
          );
        return results.every((r) => r.status === 'SERVING') ? 0 : 1;
      }),
    );
}

function check(
  node: string,
  address: string,
  service: string,
  timeoutMs: number,
): Promise<NodeHealth> {
  const client = new GrpcClient(address, credentials.createInsecure());
  return new Promise<NodeHealth>((resolve) => {
    client.makeUnaryRequest(
      CHECK,
      (req: { service: string }) => Buffer.from(Request.encode(Request.fromObject(req)).finish()),
      (bytes: Buffer) => Response.toObject(Response.decode(bytes)) as { status?: number },
      { service },
      { deadline: Date.now() + timeoutMs },
      (err: ServiceError | null, res?: { status?: number }) => {
        if (err)
          resolve({
            node,
            address,
            status: GRPC_FAILURE[err.code] ?? 'UNREACHABLE',
            detail: err.details || err.message,
          });
        else
          resolve({ node, address, status: STATUS[res?.status ?? 0] ?? `status ${res?.status}` });
      },
    );
  }).finally(() => client.close());
}
