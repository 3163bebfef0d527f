import type { Endpoint } from './registry.js';

/**
 * Where a registered endpoint keeps the JSON Schemas of its request and response: two keys of the
 * endpoint's metadata, each the schema as compact JSON text. go-micro peers ignore metadata keys
 * they do not know, and every registry (Consul's `e-` tags, etcd values, the local and memory
 * registries) carries endpoint metadata as it is, so the schemas travel wherever the entry does.
 */

/** A JSON Schema document (any draft), as a plain JSON object. */
export type JsonSchema = Record<string, unknown>;

/** Endpoint metadata key holding the request's JSON Schema (for a subscriber: the event's). */
export const REQUEST_SCHEMA_KEY = 'request_schema';

/** Endpoint metadata key holding the response's JSON Schema. */
export const RESPONSE_SCHEMA_KEY = 'response_schema';

/** The JSON Schemas a registered endpoint publishes; a part it does not publish is absent. */
export interface EndpointSchemas {
  /** What a caller sends (for a subscriber: each event). */
  request?: JsonSchema;
  /** What the endpoint answers. */
  response?: JsonSchema;
}

/**
 * The JSON Schemas published with an endpoint, as read back from any registry: what a `describe`
 * command shows or an HTTP gateway validates against. A schema that is absent, or that a foreign
 * writer left malformed, is simply not returned.
 *
 * @example
 * ```ts
 * const [svc] = await registry.getService('greeter');
 * const hello = svc.endpoints.find((e) => e.name === 'Greeter.Hello');
 * const { request } = hello ? endpointSchemas(hello) : {};
 * ```
 */
export function endpointSchemas(endpoint: Pick<Endpoint, 'metadata'>): EndpointSchemas {
  const out: EndpointSchemas = {};
  const request = parseSchema(endpoint?.metadata?.[REQUEST_SCHEMA_KEY]);
  const response = parseSchema(endpoint?.metadata?.[RESPONSE_SCHEMA_KEY]);
  if (request) out.request = request;
  if (response) out.response = response;
  return out;
}

function parseSchema(text: unknown): JsonSchema | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as JsonSchema)
      : undefined;
  } catch {
    return undefined;
  }
}
