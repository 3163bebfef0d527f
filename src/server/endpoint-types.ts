import { DEFAULTS } from '../defaults.js';
import { InvalidOptionError } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  REQUEST_SCHEMA_KEY,
  RESPONSE_SCHEMA_KEY,
  type JsonSchema,
} from '../registry/endpoint-schemas.js';
import type { Endpoint, Value } from '../registry/registry.js';
import type { EndpointTypes } from './server.js';

/**
 * Turns the `endpointTypes` option of one endpoint into what its registry entry carries: the
 * checked Value trees, and the JSON Schemas as metadata text. Done once, when the endpoint is
 * added, so registering (every heartbeat) only copies the result and a call never sees any of it.
 */

/** The parts of a registry {@link Endpoint} that come from its types. */
export type PublishedTypes = Pick<Endpoint, 'request' | 'response'> & {
  /** The schema keys of the endpoint's metadata. */
  metadata: Record<string, string>;
};

/** Deeper Value trees than this are refused: go-micro's own stop at 3, so this only stops a cycle. */
const MAX_VALUE_DEPTH = 32;

/**
 * Checks `types` (throwing InvalidOptionError at `at`) and builds what `endpoint` publishes.
 * A schema over the size limit, and each of `types.warnings`, is logged as a warning naming the
 * endpoint; registration itself never fails over a schema.
 */
export function publishedTypes(
  at: string,
  endpoint: string,
  types: EndpointTypes | undefined,
  logger: Logger,
  limitBytes: number = DEFAULTS.registrySchemaMaxBytes,
): PublishedTypes {
  const out: PublishedTypes = { metadata: {} };
  if (types === undefined) return out;
  if (typeof types !== 'object' || types === null)
    throw new InvalidOptionError(
      at,
      'expected { request?, response?, requestSchema?, responseSchema? }',
    );
  if (types.request !== undefined) out.request = checkValue(`${at}.request`, types.request, 0);
  if (types.response !== undefined) out.response = checkValue(`${at}.response`, types.response, 0);
  const parts = [
    ['request', REQUEST_SCHEMA_KEY, types.requestSchema],
    ['response', RESPONSE_SCHEMA_KEY, types.responseSchema],
  ] as const;
  for (const [part, key, schema] of parts) {
    if (schema === undefined) continue;
    const text = schemaText(`${at}.${part}Schema`, schema);
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > limitBytes)
      logger.warn(
        { endpoint, part, bytes, limitBytes },
        `the ${part} JSON Schema of ${endpoint} is left out of the registry: ${bytes} bytes, over the limit of ${limitBytes}`,
      );
    else out.metadata[key] = text;
  }
  if (types.warnings !== undefined) {
    if (!Array.isArray(types.warnings) || !types.warnings.every((w) => typeof w === 'string'))
      throw new InvalidOptionError(`${at}.warnings`, 'expected a list of strings');
    for (const warning of types.warnings)
      logger.warn({ endpoint }, `registry description of ${endpoint}: ${warning}`);
  }
  return out;
}

function checkValue(at: string, value: unknown, depth: number): Value | null {
  if (value === null && depth === 0) return null;
  if (depth > MAX_VALUE_DEPTH)
    throw new InvalidOptionError(at, `nested deeper than ${MAX_VALUE_DEPTH} levels (a cycle?)`);
  if (typeof value !== 'object' || value === null)
    throw new InvalidOptionError(at, 'expected a registry Value { name, type, values? }');
  const v = value as Record<string, unknown>;
  if (typeof v.name !== 'string' || typeof v.type !== 'string')
    throw new InvalidOptionError(at, 'expected a registry Value with string name and type');
  const out: Value = { name: v.name, type: v.type };
  if (v.values === null) out.values = null;
  else if (Array.isArray(v.values))
    out.values = v.values.map((child, i) => checkValue(`${at}.values[${i}]`, child, depth + 1)!);
  else if (v.values !== undefined)
    throw new InvalidOptionError(`${at}.values`, 'expected a list of Values');
  return out;
}

function schemaText(at: string, schema: JsonSchema): string {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
    throw new InvalidOptionError(at, 'expected a JSON Schema object');
  let text: string | undefined;
  try {
    text = JSON.stringify(schema);
  } catch (err) {
    throw new InvalidOptionError(at, `not JSON: ${(err as Error).message}`);
  }
  if (typeof text !== 'string' || !text.startsWith('{'))
    throw new InvalidOptionError(at, 'expected a JSON Schema object');
  return text;
}
