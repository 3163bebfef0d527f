import type { JsonSchema } from '../registry/endpoint-schemas.js';
import type { Value } from '../registry/registry.js';
import type { EndpointTypes, SubscriberTypes } from '../server/server.js';
import type { EndpointDefinition } from './define.js';
import { jsonSchemaOf } from './json-schema.js';
import { pascal, valueFromJsonSchema } from './registry-value.js';
import type { RegistryDescribed, Schema, TypeOnly } from './schema.js';

/**
 * What a contract endpoint publishes in the registry: the go-micro Value trees and JSON Schemas of
 * its request and response. Run once per endpoint when it is implemented, never per call.
 */

/** The registry description of `Handler.Method`; untitled types are named as protoc-gen-micro's. */
export function endpointTypes(method: string, def: EndpointDefinition): EndpointTypes {
  const request = described(def.request, `${method}Request`);
  const response = described(def.response, `${method}Response`);
  const out: EndpointTypes = {};
  if (request.value !== undefined) out.request = request.value;
  if (response.value !== undefined) out.response = response.value;
  if (request.schema) out.requestSchema = request.schema;
  if (response.schema) out.responseSchema = response.schema;
  const warnings = [
    ...(request.problem ? [`request: ${request.problem}`] : []),
    ...(response.problem ? [`response: ${response.problem}`] : []),
  ];
  if (warnings.length > 0) out.warnings = warnings;
  return out;
}

/** The registry description of a topic's events (go-micro: the subscriber endpoint's request). */
export function eventTypes(topic: string, event: Schema): SubscriberTypes {
  const { value, schema, problem } = described(event, pascal(topic) || 'Event');
  const out: SubscriberTypes = {};
  if (value !== undefined) out.request = value;
  if (schema) out.requestSchema = schema;
  if (problem) out.warnings = [`event: ${problem}`];
  return out;
}

interface Described {
  value?: Value | null;
  schema?: JsonSchema;
  problem?: string;
}

/**
 * A schema's Value: the one it carries (`registryValue`, e.g. from a proto descriptor), else the
 * one its JSON Schema maps to, else `{name, type}` of an `ofType` name, else none.
 */
function described(schema: Schema, typeName: string): Described {
  const own = (schema as RegistryDescribed).registryValue;
  const json = jsonSchemaOf(schema);
  const out: Described = {};
  if (json.schema) out.schema = json.schema;
  if (own !== undefined) out.value = own;
  else if (json.schema) out.value = valueFromJsonSchema(json.schema, typeName);
  else {
    const name = (schema as TypeOnly<unknown>).typeName;
    if (typeof name === 'string' && name !== '') out.value = { name, type: name };
  }
  if (json.problem !== undefined)
    out.problem = `${json.problem}; no JSON Schema${own === undefined ? ' or type' : ''} published`;
  return out;
}
