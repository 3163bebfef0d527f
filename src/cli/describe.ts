import type { Command } from 'commander';
import {
  endpointSchemas,
  MicroError,
  REQUEST_SCHEMA_KEY,
  RESPONSE_SCHEMA_KEY,
  type RegistryService,
} from '../index.js';
import { formatTable, printJson } from './output.js';
import type { Run } from './program.js';

/** A registry Value tree (an endpoint's request or response type, go-micro's shape). */
type Value = NonNullable<RegistryService['endpoints'][number]['request']>;

/**
 * `tsmicro describe <service>`: each version with its nodes (address, metadata) and endpoints
 * (request and response types as the registry holds them, go-micro's Value trees, plus the JSON
 * Schemas a typed tsmicro service publishes).
 */
export function register(program: Command, run: Run): void {
  program
    .command('describe')
    .description('Show a service: versions, nodes, endpoints with their types and JSON Schemas')
    .argument('<service>', 'service name')
    .action((name: string, _opts, cmd: Command) =>
      run(cmd, async ({ ctx, output }) => {
        const registry = await ctx.registry();
        const versions = await registry.getService(name);
        if (versions.length === 0)
          throw MicroError.notFound(
            'tsmicro.cli',
            `service ${name}: not found in the ${registry.name} registry`,
          );
        const described = versions.map(describe);
        if (output === 'json') printJson(described);
        else process.stdout.write(described.map(asText).join('\n'));
      }),
    );
}

/** One version as JSON shows it: the registry entry, each endpoint's schemas parsed. */
function describe(svc: RegistryService) {
  return {
    name: svc.name,
    version: svc.version,
    ...(svc.metadata && Object.keys(svc.metadata).length > 0 ? { metadata: svc.metadata } : {}),
    nodes: svc.nodes,
    endpoints: svc.endpoints.map((e) => {
      const {
        [REQUEST_SCHEMA_KEY]: _req,
        [RESPONSE_SCHEMA_KEY]: _res,
        ...metadata
      } = e.metadata ?? {};
      const schemas = endpointSchemas(e);
      return {
        name: e.name,
        request: e.request ?? null,
        response: e.response ?? null,
        metadata,
        ...(schemas.request ? { requestSchema: schemas.request } : {}),
        ...(schemas.response ? { responseSchema: schemas.response } : {}),
      };
    }),
  };
}

function asText(d: ReturnType<typeof describe>): string {
  const lines = [`${d.name} ${d.version}`];
  lines.push(
    formatTable(
      ['NODE', 'ADDRESS', 'METADATA'],
      d.nodes.map((n) => [n.id, n.address, pairs(n.metadata)]),
      '  ',
    ),
  );
  if (d.endpoints.length > 0) {
    lines.push(
      formatTable(
        ['ENDPOINT', 'REQUEST', 'RESPONSE', 'STREAM'],
        d.endpoints.map((e) => [
          e.name,
          typeText(e.request),
          typeText(e.response),
          e.metadata.stream === 'true' ? 'yes' : '',
        ]),
        '  ',
      ),
    );
    for (const e of d.endpoints) {
      if (e.requestSchema)
        lines.push(`  ${e.name} request schema:  ${JSON.stringify(e.requestSchema)}`);
      if (e.responseSchema)
        lines.push(`  ${e.name} response schema: ${JSON.stringify(e.responseSchema)}`);
    }
  }
  return `${lines.join('\n').replace(/\n+$/, '')}\n`;
}

/** `Type{field type, ...}` one level deep; `-` for none. */
function typeText(v: Value | null): string {
  if (!v) return '-';
  const fields = v.values ?? [];
  return fields.length === 0
    ? v.type
    : `${v.type}{${fields.map((f) => `${f.name} ${f.type}`).join(', ')}}`;
}

function pairs(md: Record<string, string>): string {
  return Object.entries(md)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
