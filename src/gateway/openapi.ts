import type { ServiceContract } from '../contract/define.js';
import { jsonSchemaOf } from '../contract/json-schema.js';
import { endpointSchemas, type JsonSchema } from '../registry/endpoint-schemas.js';
import type { Service } from '../registry/registry.js';

/**
 * The OpenAPI 3.1 document of what a gateway exposes: each contract endpoint under go-micro's
 * `POST /{service}/{Handler}/{Method}` and its own HTTP route, each registered endpoint of the
 * other allowed services under go-micro's route, and `POST /rpc`. Schemas are the contracts' JSON Schemas (or
 * those the registry carries); an endpoint without one has an open body (`{}` accepts anything).
 */

type Operation = Record<string, unknown>;
type PathItem = Record<string, Operation>;

/** What the document is built from. */
export interface OpenApiSources {
  readonly title: string;
  readonly contracts: readonly ServiceContract[];
  /** Registered versions of the allowed services that no contract describes. */
  readonly registered: readonly Service[];
}

const OPEN: JsonSchema = {};

const ERROR_REF = { $ref: '#/components/schemas/MicroError' };

/** The document for `sources`. */
export function openApiDocument(sources: OpenApiSources): Record<string, unknown> {
  const paths: Record<string, PathItem> = {};
  const add = (path: string, method: string, op: Operation) => {
    (paths[path] ??= {})[method] = op;
  };
  for (const contract of sources.contracts)
    for (const [handler, methods] of Object.entries(contract.handlers))
      for (const [method, def] of Object.entries(methods)) {
        if (def.stream !== undefined) continue;
        const endpoint = `${handler}.${method}`;
        const request = schemaOf(def.request);
        const response = schemaOf(def.response);
        const summary = def.description;
        add(
          `/${contract.name}/${handler}/${method}`,
          'post',
          operation(`${contract.name}.${endpoint}`, summary, request, response),
        );
        if (def.http) {
          const { path, params } = openApiPath(def.http.path);
          const op = operation(
            `${contract.name}.${endpoint}.http`,
            summary,
            def.http.method === 'GET' || def.http.method === 'DELETE' ? undefined : request,
            response,
          );
          op.parameters = [
            ...params.map((name) => ({
              name,
              in: 'path',
              required: true,
              schema: propertySchema(request, name) ?? { type: 'string' },
            })),
            ...(def.http.method === 'GET' || def.http.method === 'DELETE'
              ? queryParameters(request, params)
              : []),
          ];
          add(path, def.http.method.toLowerCase(), op);
        }
      }
  for (const service of sources.registered)
    for (const e of service.endpoints) {
      // Subscribers and streams are not answered by go-micro's unary routes.
      if (e.metadata?.subscriber === 'true' || e.metadata?.stream === 'true') continue;
      const m = /^(\w+)\.(\w+)$/.exec(e.name);
      if (!m) continue;
      const schemas = endpointSchemas(e);
      add(
        `/${service.name}/${m[1]}/${m[2]}`,
        'post',
        operation(
          `${service.name}.${e.name}`,
          e.metadata?.description,
          clean(schemas.request) ?? OPEN,
          clean(schemas.response) ?? OPEN,
        ),
      );
    }
  add(
    '/rpc',
    'post',
    operation(
      'rpc',
      'Calls any exposed endpoint by name',
      {
        type: 'object',
        properties: {
          service: { type: 'string' },
          endpoint: { type: 'string', description: 'Handler.Method' },
          request: {},
        },
        required: ['service', 'endpoint'],
      },
      OPEN,
    ),
  );
  return {
    openapi: '3.1.0',
    info: { title: sources.title, version: '1.0.0' },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      schemas: {
        MicroError: {
          type: 'object',
          description:
            "go-micro's error: who failed (id), the HTTP-like code, why, and the status text",
          properties: {
            id: { type: 'string' },
            code: { type: 'integer' },
            detail: { type: 'string' },
            status: { type: 'string' },
          },
          required: ['id', 'code', 'detail', 'status'],
        },
      },
    },
  };
}

function operation(
  operationId: string,
  summary: string | undefined,
  request: JsonSchema | undefined,
  response: JsonSchema,
): Operation {
  return {
    operationId,
    ...(summary ? { summary } : {}),
    ...(request
      ? { requestBody: { required: true, content: { 'application/json': { schema: request } } } }
      : {}),
    responses: {
      '200': { description: 'The response', content: { 'application/json': { schema: response } } },
      default: {
        description: 'A MicroError under its HTTP status',
        content: { 'application/json': { schema: ERROR_REF } },
      },
    },
  };
}

/** The JSON Schema of a contract schema, or an open one when it does not describe itself. */
function schemaOf(schema: Parameters<typeof jsonSchemaOf>[0]): JsonSchema {
  return clean(jsonSchemaOf(schema).schema) ?? OPEN;
}

/**
 * The schema as an OpenAPI 3.1 Schema Object: its `$schema` is dropped, as the document's
 * `jsonSchemaDialect` says which dialect its schemas use.
 */
function clean(schema: JsonSchema | undefined): JsonSchema | undefined {
  if (!schema) return undefined;
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}

/** `/users/:id` → `/users/{id}` and its parameter names. */
export function openApiPath(path: string): { path: string; params: string[] } {
  const params: string[] = [];
  const out = path.replace(/:([A-Za-z_]\w*)/g, (_m, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path: out, params };
}

function propertySchema(schema: JsonSchema, name: string): JsonSchema | undefined {
  const props = schema.properties;
  if (typeof props !== 'object' || props === null) return undefined;
  const p = (props as Record<string, unknown>)[name];
  return typeof p === 'object' && p !== null ? (p as JsonSchema) : undefined;
}

/** The request's other properties, as query parameters of a GET or DELETE route. */
function queryParameters(schema: JsonSchema, pathParams: readonly string[]): Operation[] {
  const props = schema.properties;
  if (typeof props !== 'object' || props === null) return [];
  const required = Array.isArray(schema.required) ? (schema.required as unknown[]) : [];
  return Object.entries(props as Record<string, unknown>)
    .filter(([name]) => !pathParams.includes(name))
    .map(([name, p]) => ({
      name,
      in: 'query',
      required: required.includes(name),
      schema: typeof p === 'object' && p !== null ? p : {},
    }));
}
