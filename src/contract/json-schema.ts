import type { JsonSchema } from '../registry/endpoint-schemas.js';
import { describesJsonSchema, type Schema } from './schema.js';

/** The JSON Schema of a contract schema, or why there is none. */
export type JsonSchemaResult =
  { schema: JsonSchema; problem?: undefined } | { schema?: undefined; problem?: string };

/**
 * The JSON Schema of what `schema` accepts (its input: what goes on the wire, as a caller sends a
 * request and a handler returns a response), through Standard JSON Schema: draft 2020-12, else
 * draft-07 from a library that only speaks that. No schema and no problem for a schema that does
 * not describe itself (`ofType`, a library without Standard JSON Schema); a problem when the
 * library refused (Zod and Valibot throw for types JSON cannot carry, such as `Date` or `bigint`).
 */
export function jsonSchemaOf(schema: Schema): JsonSchemaResult {
  if (!describesJsonSchema(schema)) return {};
  const convert = schema['~standard'].jsonSchema;
  let problem = '';
  for (const target of ['draft-2020-12', 'draft-07'] as const) {
    try {
      const out: unknown = convert.input({ target });
      if (typeof out === 'object' && out !== null && !Array.isArray(out))
        return { schema: out as JsonSchema };
      problem ||= `the schema library gave ${out === null ? 'null' : typeof out}, not a JSON Schema object`;
    } catch (err) {
      // The first refusal says why; draft-07 is only tried for libraries without 2020-12.
      problem ||= err instanceof Error ? err.message : String(err);
    }
  }
  return { problem };
}
