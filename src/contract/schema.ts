import type {
  StandardJSONSchemaV1,
  StandardSchemaV1,
  StandardTypedV1,
} from '@standard-schema/spec';
import type { Value } from '../registry/registry.js';

/**
 * The schemas a contract takes. Every one is a Standard Typed value (`@standard-schema/spec`):
 * a Zod, Valibot or ArkType schema (which also validates, through Standard Schema, and may describe
 * itself as JSON Schema, through Standard JSON Schema), or {@link ofType} for types alone.
 */
export type Schema<Input = unknown, Output = Input> = StandardTypedV1<Input, Output>;

/**
 * What a schema may carry besides Standard Schema, for the registry. When a contract's schema has
 * a `registryValue` property, `implement()` publishes it as is as the endpoint's go-micro
 * `Value` (request, response or event) instead of deriving one: a generator with exact type
 * information (a `.proto` descriptor: message names, field names, `int32` vs `int64`) sets it so
 * go-micro tools show the very types a Go peer generated from the same file would. `null`
 * publishes no type. Without it, the Value is derived from the schema's JSON Schema (Standard
 * JSON Schema), or is `{name, type}` of an {@link ofType} name, or there is none.
 *
 * @example
 * ```ts
 * const HelloRequest = Object.assign(z.object({ name: z.string() }), {
 *   registryValue: { name: 'HelloRequest', type: 'HelloRequest', values: [{ name: 'name', type: 'string' }] },
 * });
 * ```
 */
export interface RegistryDescribed {
  /** The go-micro `registry.Value` to publish for this schema, as is. */
  readonly registryValue?: Value | null;
}

/** What a schema accepts: the type a caller sends, or a handler returns. */
export type InputOf<S extends Schema> = StandardTypedV1.InferInput<S>;

/** What a schema produces: the type a handler receives, or a caller gets back. */
export type OutputOf<S extends Schema> = StandardTypedV1.InferOutput<S>;

/** A schema that carries only a type: nothing is validated at run time. */
export interface TypeOnly<T> extends StandardTypedV1<T, T> {
  /** The type's name as the registry shows it (go-micro `Value.type`), when given. */
  readonly typeName?: string;
}

/**
 * A schema that is only a TypeScript type, for teams without a schema library: calls and handlers
 * are type-checked, and nothing is validated at run time (so nothing is spent on it per call).
 *
 * @param typeName - the type's name as the registry shows it, e.g. `HelloRequest`
 * @example
 * ```ts
 * interface HelloRequest { name: string }
 * const request = ofType<HelloRequest>('HelloRequest');
 * ```
 */
export function ofType<T>(typeName?: string): TypeOnly<T> {
  return typeName === undefined ? { '~standard': TYPE_ONLY } : { '~standard': TYPE_ONLY, typeName };
}

const TYPE_ONLY: StandardTypedV1.Props<never, never> = Object.freeze({
  version: 1 as const,
  vendor: 'tsmicro',
});

/** True when `schema` validates (implements Standard Schema, not only Standard Typed). */
export function validates(schema: Schema): schema is StandardSchemaV1 {
  return typeof (schema['~standard'] as Partial<StandardSchemaV1.Props>).validate === 'function';
}

/** True when `schema` can describe itself as JSON Schema (Standard JSON Schema). */
export function describesJsonSchema(schema: Schema): schema is StandardJSONSchemaV1 {
  const converter = (schema['~standard'] as Partial<StandardJSONSchemaV1.Props>).jsonSchema;
  return typeof converter?.input === 'function' && typeof converter.output === 'function';
}

/** True for a value a contract can take as a schema. */
export function isSchema(value: unknown): value is Schema {
  const props = (value as { '~standard'?: unknown } | null | undefined)?.['~standard'];
  return (
    typeof props === 'object' &&
    props !== null &&
    (props as { version?: unknown }).version === 1 &&
    typeof (props as { vendor?: unknown }).vendor === 'string'
  );
}
