import type { JsonSchema } from '../registry/endpoint-schemas.js';
import type { Value } from '../registry/registry.js';

/**
 * JSON Schema → go-micro `registry.Value`, the tree go-micro's server builds from a Go type by
 * reflection (server/extractor.go): the root is `{name: T, type: T}`; a struct has one child per
 * field, named by its JSON key; a slice is `[]Elem` without children; nothing deeper than three
 * levels (root, fields, their fields). Type names are Go's, so go-micro tools read them as they
 * read a Go service's:
 *
 * | JSON Schema | type |
 * |---|---|
 * | `string` | `string` |
 * | `boolean` | `bool` |
 * | `integer` | `int64`; `int32`, `uint32`, `uint64` by `format` or exact 32-bit bounds |
 * | `number` | `float64`; `float32` by `format: float` or exact float32 bounds |
 * | `array` of T, a tuple of one T | `[]T` (a mixed tuple: `[]interface{}`) |
 * | `object` with `properties` | its `title`, else its `$defs` name, else the field name in PascalCase (the root: the name given) |
 * | `object` with only `additionalProperties: T` (a record) | `map[string]T` |
 * | `null` beside one other type, in `type` or `anyOf`/`oneOf` | the other type (Go has no null) |
 * | a union of several types, `{}`, `true`, an unresolvable `$ref` | `interface{}` |
 *
 * A union of members that all map to the same type (enums, literals) is that type; `allOf` of
 * objects is one struct with the fields of all. Local `$ref`s (`#`, `#/$defs/...`,
 * `#/definitions/...`) are followed; a recursive type stops at the depth limit as in go-micro.
 */

/** go-micro's limit: values deeper than this (root = 0) are left out. */
export const VALUE_DEPTH_LIMIT = 3;

/** The type name of anything a Go struct would have to hold as an empty interface. */
const ANY = 'interface{}';
/**
 * Schema nodes looked at per document before the rest is taken as `interface{}`: a hostile or
 * degenerate document (unions of refs to unions) cannot make registration slow.
 */
const MAX_STEPS = 10_000;
/** Nesting of `[]`/`map[string]` within one type name before the rest is `interface{}`. */
const MAX_TYPE_NESTING = 8;

type Node = JsonSchema | boolean;

/** What a schema node describes, once refs and nullable unions are looked through. */
type Shape =
  | { kind: 'struct'; name: string | undefined; fields: [string, Node][] }
  | { kind: 'map'; value: Node }
  | { kind: 'array'; items: Node[] }
  | { kind: 'scalar'; type: string };

const FLOAT32_MAX = 3.4028234663852886e38;

const ANY_SHAPE: Shape = Object.freeze({ kind: 'scalar', type: ANY });

/**
 * The go-micro Value of a JSON Schema document.
 *
 * @param schema - the document (its `$defs` are where its `$ref`s point)
 * @param typeName - the root's type name when the schema has no `title`, e.g. `HelloRequest`
 */
export function valueFromJsonSchema(schema: JsonSchema, typeName: string): Value {
  const mapper = new Mapper(schema, typeName);
  const shape = mapper.shape(schema);
  const type = mapper.typeOf(shape, typeName);
  const root: Value = { name: type, type };
  const values = mapper.children(shape, 0);
  if (values) root.values = values;
  return root;
}

class Mapper {
  private steps = 0;
  /** Nodes being looked through now: meeting one again is a cycle of refs or unions. */
  private readonly open = new Set<Node>();

  constructor(
    private readonly root: JsonSchema,
    /** What a `#` ref (the root, in a recursive type) is named when the root has no title. */
    private readonly rootName: string,
  ) {}

  /** The fields of a struct at `depth`, each with its own fields while within the limit. */
  children(shape: Shape, depth: number): Value[] | undefined {
    if (shape.kind !== 'struct' || depth + 1 >= VALUE_DEPTH_LIMIT) return undefined;
    const out: Value[] = [];
    for (const [key, node] of shape.fields) {
      if (node === false) continue; // a field that may not be present at all
      const child = this.shape(node);
      const value: Value = { name: key, type: this.typeOf(child, pascal(key) || 'object') };
      const values = this.children(child, depth + 1);
      if (values) value.values = values;
      out.push(value);
    }
    return out;
  }

  /** The Go-ish type name of a shape; `fallback` names an untitled struct. */
  typeOf(shape: Shape, fallback: string, nesting = 0): string {
    if (nesting > MAX_TYPE_NESTING) return ANY;
    switch (shape.kind) {
      case 'scalar':
        return shape.type;
      case 'struct':
        return shape.name ?? fallback;
      case 'map':
        return `map[string]${this.typeOf(this.shape(shape.value), fallback, nesting + 1)}`;
      case 'array': {
        const types = new Set(
          shape.items.map((i) => this.typeOf(this.shape(i), fallback, nesting + 1)),
        );
        return `[]${types.size === 1 ? [...types][0] : ANY}`;
      }
    }
  }

  /** What `node` describes; `defName` names it when it was reached through a `$defs` ref. */
  shape(node: Node, defName?: string): Shape {
    if (typeof node !== 'object' || node === null) return ANY_SHAPE;
    if (++this.steps > MAX_STEPS || this.open.has(node)) return ANY_SHAPE;
    this.open.add(node);
    try {
      return this.lookThrough(node, defName);
    } finally {
      this.open.delete(node);
    }
  }

  private lookThrough(node: JsonSchema, defName: string | undefined): Shape {
    if (typeof node.$ref === 'string') {
      const target = this.resolve(node.$ref);
      if (target === undefined) return ANY_SHAPE;
      const name = node.$ref === '#' ? this.rootName : refName(node.$ref);
      return this.shape(target, name ?? defName);
    }
    const name = typeNameOf(node.title) ?? defName;
    const union = node.anyOf ?? node.oneOf;
    if (Array.isArray(union)) return this.union(union as Node[], name);
    if (Array.isArray(node.allOf)) return this.intersection(node.allOf as Node[], name);
    const type = this.jsonType(node);
    switch (type) {
      case 'object':
        return this.object(node, name);
      case 'array':
        return { kind: 'array', items: arrayItems(node) };
      case undefined:
        return ANY_SHAPE;
      default:
        return { kind: 'scalar', type: scalarType(type, node) };
    }
  }

  /** The one JSON type `node` stands for; undefined when it is several, or says nothing. */
  private jsonType(node: JsonSchema): string | undefined {
    if (typeof node.type === 'string') return node.type;
    if (Array.isArray(node.type)) {
      const declared = (node.type as unknown[]).filter((t) => t !== 'null');
      if (declared.length === 0) return 'null';
      if (declared.length === 1 && typeof declared[0] === 'string') return declared[0];
      // integer | number is a number; anything else is several types.
      return declared.length === 2 && declared.includes('integer') && declared.includes('number')
        ? 'number'
        : undefined;
    }
    const literals = 'const' in node ? [node.const] : Array.isArray(node.enum) ? node.enum : [];
    const kinds = new Set(literals.filter((v) => v !== null).map(jsonKind));
    if (kinds.size === 1) return [...kinds][0];
    if (kinds.size === 2 && kinds.has('integer') && kinds.has('number')) return 'number';
    if (kinds.size > 1) return undefined;
    if (node.properties !== undefined || node.additionalProperties !== undefined) return 'object';
    if (node.items !== undefined || node.prefixItems !== undefined) return 'array';
    return undefined;
  }

  private object(node: JsonSchema, name: string | undefined): Shape {
    const properties = node.properties;
    if (typeof properties === 'object' && properties !== null && !Array.isArray(properties))
      return { kind: 'struct', name, fields: Object.entries(properties as Record<string, Node>) };
    const additional = node.additionalProperties ?? firstPattern(node.patternProperties);
    if (additional !== undefined && additional !== false)
      return { kind: 'map', value: additional as Node };
    return { kind: 'map', value: true };
  }

  private union(members: Node[], name: string | undefined): Shape {
    const shapes = members.filter((m) => !isNullOnly(m)).map((m) => this.shape(m));
    if (shapes.length === 1) {
      const only = shapes[0];
      return only.kind === 'struct' && name !== undefined ? { ...only, name } : only;
    }
    // Literals and enums of one type are that type; a choice of shapes is only an interface.
    const types = new Set(shapes.map((s) => (s.kind === 'scalar' ? s.type : ANY)));
    return types.size === 1 ? { kind: 'scalar', type: [...types][0] } : ANY_SHAPE;
  }

  private intersection(members: Node[], name: string | undefined): Shape {
    const shapes = members.map((m) => this.shape(m));
    if (shapes.length === 1) return shapes[0];
    if (shapes.length > 0 && shapes.every((s) => s.kind === 'struct')) {
      const fields = new Map<string, Node>();
      for (const s of shapes) for (const [k, v] of s.fields) if (!fields.has(k)) fields.set(k, v);
      return {
        kind: 'struct',
        name: name ?? shapes.find((s) => s.name)?.name,
        fields: [...fields],
      };
    }
    return ANY_SHAPE;
  }

  /** A local JSON Pointer reference into the document; undefined for anything else. */
  private resolve(ref: string): Node | undefined {
    if (ref === '#') return this.root;
    if (!ref.startsWith('#/')) return undefined;
    let at: unknown = this.root;
    for (const raw of ref.slice(2).split('/')) {
      let key: string;
      try {
        key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      } catch {
        return undefined;
      }
      if (typeof at !== 'object' || at === null || !Object.hasOwn(at, key)) return undefined;
      at = (at as Record<string, unknown>)[key];
    }
    return typeof at === 'boolean' || (typeof at === 'object' && at !== null && !Array.isArray(at))
      ? (at as Node)
      : undefined;
  }
}

/**
 * Integers and floats are 64-bit unless the schema says narrower: an OpenAPI `format`, or exactly
 * the bounds of the narrower type (what Zod's `int32()`, `uint32()` and `float32()` emit).
 */
function scalarType(type: string, node: JsonSchema): string {
  const { format, minimum: min, maximum: max } = node;
  switch (type) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'integer':
      if (format === 'int32' || format === 'uint32' || format === 'uint64') return format;
      if (min === -0x8000_0000 && max === 0x7fff_ffff) return 'int32';
      if (min === 0 && max === 0xffff_ffff) return 'uint32';
      return 'int64';
    case 'number':
      if (format === 'float' || (min === -FLOAT32_MAX && max === FLOAT32_MAX)) return 'float32';
      return 'float64';
    default:
      // `null` alone, or a type name no draft defines.
      return ANY;
  }
}

function arrayItems(node: JsonSchema): Node[] {
  // draft 2020-12 tuples are `prefixItems`; draft-07 tuples are an `items` array.
  const prefix = Array.isArray(node.prefixItems) ? (node.prefixItems as Node[]) : [];
  const items = node.items;
  if (Array.isArray(items)) return [...prefix, ...(items as Node[])];
  if (items !== undefined && items !== false) return [...prefix, items as Node];
  return prefix.length > 0 ? prefix : [true];
}

function firstPattern(patterns: unknown): unknown {
  if (typeof patterns !== 'object' || patterns === null) return undefined;
  return Object.values(patterns)[0];
}

function isNullOnly(node: Node): boolean {
  return (
    typeof node === 'object' && (node.type === 'null' || ('const' in node && node.const === null))
  );
}

function jsonKind(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (Array.isArray(value)) return 'array';
  return typeof value; // string, boolean, object
}

/** The last segment of `#/$defs/Address`, when it makes a type name (not a generated `__schema0`). */
function refName(ref: string): string | undefined {
  const last = ref.split('/').pop() ?? '';
  return last.startsWith('__') ? undefined : typeNameOf(last);
}

/** A title or def name as a type name: kept when it is an identifier, else its words joined. */
function typeNameOf(text: unknown): string | undefined {
  if (typeof text !== 'string' || text.trim() === '' || text === '#') return undefined;
  return /^[A-Za-z_]\w*$/.test(text) ? text : pascal(text) || undefined;
}

/** `home_address` / `home-address` / `home address` → `HomeAddress`. */
export function pascal(text: string): string {
  return text
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');
}
