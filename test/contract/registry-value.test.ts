import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { toStandardJsonSchema } from '@valibot/to-json-schema';
import * as v from 'valibot';
import { z } from 'zod';
import type { JsonSchema } from '../../src/index.js';
import { valueFromJsonSchema } from '../../src/contract/registry-value.js';
import { jsonSchemaOf } from '../../src/contract/json-schema.js';
import { ofType, type Schema } from '../../src/contract/schema.js';

// JSON Schema → go-micro registry.Value, on what Zod 4 and Valibot emit and on hand-written
// documents for the parts of JSON Schema neither emits.

function zodValue(schema: Schema, name = 'HelloRequest'): unknown {
  const { schema: json, problem } = jsonSchemaOf(schema);
  assert.ok(json, `no JSON Schema: ${problem}`);
  return valueFromJsonSchema(json, name);
}

describe('valueFromJsonSchema', () => {
  test('a flat Zod object: one child per field, Go type names, root named as given', () => {
    const req = z.object({
      name: z.string(),
      age: z.number().int(),
      ok: z.boolean(),
      x: z.number(),
    });
    assert.deepEqual(zodValue(req), {
      name: 'HelloRequest',
      type: 'HelloRequest',
      values: [
        { name: 'name', type: 'string' },
        { name: 'age', type: 'int64' },
        { name: 'ok', type: 'bool' },
        { name: 'x', type: 'float64' },
      ],
    });
  });

  test('a title names the type; 32-bit bounds give int32, uint32 and float32', () => {
    const req = z
      .object({ a: z.int32(), b: z.uint32(), c: z.float32(), d: z.int(), e: z.float64() })
      .meta({ title: 'Sizes' });
    assert.deepEqual(zodValue(req), {
      name: 'Sizes',
      type: 'Sizes',
      values: [
        { name: 'a', type: 'int32' },
        { name: 'b', type: 'uint32' },
        { name: 'c', type: 'float32' },
        { name: 'd', type: 'int64' },
        { name: 'e', type: 'float64' },
      ],
    });
  });

  test('nested objects: titled, $defs-named (Zod ids) and untitled; three levels, as go-micro', () => {
    const Address = z.object({ street: z.string(), geo: z.object({ lat: z.number() }) });
    const Shared = Address.meta({ id: 'Address' });
    const req = z.object({
      home: Shared,
      work: Shared,
      billing: Address.meta({ title: 'Billing Address' }),
      plain: z.object({ deep: z.object({ deeper: z.string() }) }),
    });
    const { schema: json, problem } = jsonSchemaOf(req);
    assert.ok(json, problem);
    assert.ok(JSON.stringify(json).includes('"$ref":"#/$defs/Address"'), 'Zod emits a $ref here');
    const geo = { name: 'geo', type: 'Geo' }; // a struct at depth 2: named, no children
    assert.deepEqual(valueFromJsonSchema(json, 'HelloRequest'), {
      name: 'HelloRequest',
      type: 'HelloRequest',
      values: [
        { name: 'home', type: 'Address', values: [{ name: 'street', type: 'string' }, geo] },
        { name: 'work', type: 'Address', values: [{ name: 'street', type: 'string' }, geo] },
        {
          name: 'billing',
          type: 'BillingAddress',
          values: [{ name: 'street', type: 'string' }, geo],
        },
        { name: 'plain', type: 'Plain', values: [{ name: 'deep', type: 'Deep' }] },
      ],
    });
  });

  test('arrays are []T without children; records are map[string]T; tuples of one type []T', () => {
    const Item = z.object({ sku: z.string() }).meta({ title: 'Item' });
    const req = z.object({
      tags: z.array(z.string()),
      items: z.array(Item),
      rows: z.array(z.object({ n: z.number() })),
      grid: z.array(z.array(z.int())),
      counts: z.record(z.string(), z.int()),
      byId: z.record(z.string(), Item),
      pair: z.tuple([z.string(), z.string()]),
      mixed: z.tuple([z.string(), z.number()]),
    });
    assert.deepEqual(zodValue(req), {
      name: 'HelloRequest',
      type: 'HelloRequest',
      values: [
        { name: 'tags', type: '[]string' },
        { name: 'items', type: '[]Item' },
        { name: 'rows', type: '[]Rows' },
        { name: 'grid', type: '[][]int64' },
        { name: 'counts', type: 'map[string]int64' },
        { name: 'byId', type: 'map[string]Item' },
        { name: 'pair', type: '[]string' },
        { name: 'mixed', type: '[]interface{}' },
      ],
    });
  });

  test('unions: nullable and optional are the type; enums and literals their type; others interface{}', () => {
    const Item = z.object({ sku: z.string() }).meta({ title: 'Item' });
    const req = z.object({
      maybe: z.string().nullable(),
      opt: z.int().optional(),
      item: Item.nullable(),
      kind: z.enum(['a', 'b']),
      lit: z.literal('x'),
      lits: z.union([z.literal(1), z.literal(2)]),
      either: z.union([z.string(), z.number()]),
      shape: z.discriminatedUnion('k', [
        z.object({ k: z.literal('a') }),
        z.object({ k: z.literal('b') }),
      ]),
      anything: z.unknown(),
    });
    assert.deepEqual(zodValue(req), {
      name: 'HelloRequest',
      type: 'HelloRequest',
      values: [
        { name: 'maybe', type: 'string' },
        { name: 'opt', type: 'int64' },
        { name: 'item', type: 'Item', values: [{ name: 'sku', type: 'string' }] },
        { name: 'kind', type: 'string' },
        { name: 'lit', type: 'string' },
        { name: 'lits', type: 'float64' },
        { name: 'either', type: 'interface{}' },
        { name: 'shape', type: 'interface{}' },
        { name: 'anything', type: 'interface{}' },
      ],
    });
  });

  test('a recursive Zod type ($ref "#") is named after the root and stops at the depth limit', () => {
    const Category: z.ZodType<{ name: string; parent?: unknown; children: unknown[] }> = z.object({
      name: z.string(),
      get parent() {
        return Category.optional();
      },
      get children() {
        return z.array(Category);
      },
    });
    const json = jsonSchemaOf(Category).schema!;
    assert.ok(JSON.stringify(json).includes('"$ref":"#"'), 'Zod emits a root $ref here');
    assert.deepEqual(valueFromJsonSchema(json, 'Category'), {
      name: 'Category',
      type: 'Category',
      values: [
        { name: 'name', type: 'string' },
        {
          name: 'parent',
          type: 'Category',
          values: [
            { name: 'name', type: 'string' },
            { name: 'parent', type: 'Category' },
            { name: 'children', type: '[]Category' },
          ],
        },
        { name: 'children', type: '[]Category' },
      ],
    });
  });

  test('a root that is not an object is named by its type', () => {
    assert.deepEqual(zodValue(z.string()), { name: 'string', type: 'string' });
    assert.deepEqual(zodValue(z.array(z.int())), { name: '[]int64', type: '[]int64' });
  });

  test('Valibot through @valibot/to-json-schema (Standard JSON Schema) maps the same way', () => {
    const req = toStandardJsonSchema(
      v.object({
        name: v.string(),
        n: v.pipe(v.number(), v.integer()),
        list: v.array(v.object({ x: v.boolean() })),
        note: v.optional(v.nullable(v.string())),
      }),
    );
    assert.deepEqual(zodValue(req), {
      name: 'HelloRequest',
      type: 'HelloRequest',
      values: [
        { name: 'name', type: 'string' },
        { name: 'n', type: 'int64' },
        { name: 'list', type: '[]List' },
        { name: 'note', type: 'string' },
      ],
    });
  });

  test('draft-07 documents: definitions, items arrays, allOf merged, formats, patternProperties', () => {
    const doc: JsonSchema = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: {
        user: { $ref: '#/definitions/User' },
        pair: { type: 'array', items: [{ type: 'integer' }, { type: 'integer' }] },
        both: {
          allOf: [
            { type: 'object', properties: { a: { type: 'string' } } },
            { type: 'object', properties: { b: { type: 'integer', format: 'int32' } } },
          ],
        },
        f: { type: 'number', format: 'float' },
        u: { type: 'integer', format: 'uint64' },
        labels: { type: 'object', patternProperties: { '^x-': { type: 'string' } } },
        bag: { type: 'object' },
        nothing: false,
        yes: true,
        ints: { type: ['integer', 'number'] },
        nul: { type: 'null' },
        constant: { const: true },
        enumMixed: { enum: ['a', 1] },
        'snake_case-key': { type: 'object', properties: { x: { type: 'string' } } },
      },
      definitions: { User: { type: 'object', properties: { id: { type: 'string' } } } },
    };
    assert.deepEqual(valueFromJsonSchema(doc, 'Req'), {
      name: 'Req',
      type: 'Req',
      values: [
        { name: 'user', type: 'User', values: [{ name: 'id', type: 'string' }] },
        { name: 'pair', type: '[]int64' },
        {
          name: 'both',
          type: 'Both',
          values: [
            { name: 'a', type: 'string' },
            { name: 'b', type: 'int32' },
          ],
        },
        { name: 'f', type: 'float32' },
        { name: 'u', type: 'uint64' },
        { name: 'labels', type: 'map[string]string' },
        { name: 'bag', type: 'map[string]interface{}' },
        { name: 'yes', type: 'interface{}' },
        { name: 'ints', type: 'float64' },
        { name: 'nul', type: 'interface{}' },
        { name: 'constant', type: 'bool' },
        { name: 'enumMixed', type: 'interface{}' },
        { name: 'snake_case-key', type: 'SnakeCaseKey', values: [{ name: 'x', type: 'string' }] },
      ],
    });
  });

  test('refs that go nowhere or loop are interface{}, never a hang', () => {
    const doc: JsonSchema = {
      type: 'object',
      properties: {
        missing: { $ref: '#/$defs/Nope' },
        remote: { $ref: 'https://example.com/schema.json' },
        loop: { $ref: '#/$defs/A' },
        unionLoop: { $ref: '#/$defs/U' },
        selfMap: { $ref: '#/$defs/M' },
        escaped: { $ref: '#/$defs/a~1b' },
      },
      $defs: {
        A: { $ref: '#/$defs/B' },
        B: { $ref: '#/$defs/A' },
        U: { anyOf: [{ $ref: '#/$defs/U' }, { $ref: '#/$defs/U' }, { type: 'string' }] },
        M: { type: 'object', additionalProperties: { $ref: '#/$defs/M' } },
        'a/b': { type: 'boolean' },
      },
    };
    const value = valueFromJsonSchema(doc, 'Req');
    const types = Object.fromEntries(value.values!.map((c) => [c.name, c.type]));
    assert.equal(types.missing, 'interface{}');
    assert.equal(types.remote, 'interface{}');
    assert.equal(types.loop, 'interface{}');
    assert.equal(types.unionLoop, 'interface{}');
    assert.match(types.selfMap, /^(map\[string\])+interface\{\}$/);
    assert.equal(types.escaped, 'bool');
  });

  test('a wide document is mapped in bounded work', () => {
    // 200 fields, each a union of refs to one shared union of 20 refs: without a step budget the
    // walk multiplies out; with it the tail is interface{}.
    const defs: Record<string, JsonSchema> = {
      Hub: { anyOf: Array.from({ length: 20 }, (_, i) => ({ $ref: `#/$defs/L${i}` })) },
    };
    for (let i = 0; i < 20; i++) defs[`L${i}`] = { anyOf: [{ $ref: '#/$defs/Hub' }] };
    const properties = Object.fromEntries(
      Array.from({ length: 200 }, (_, i) => [`f${i}`, { $ref: '#/$defs/Hub' }]),
    );
    const value = valueFromJsonSchema({ type: 'object', properties, $defs: defs }, 'Req');
    assert.equal(value.values?.length, 200);
    for (const child of value.values) assert.equal(child.type, 'interface{}');
  });
});

describe('jsonSchemaOf', () => {
  test('no JSON Schema and no problem for ofType; a problem for what JSON cannot carry', () => {
    assert.deepEqual(jsonSchemaOf(ofType<{ a: string }>('A')), {});
    const r = jsonSchemaOf(z.object({ at: z.date() }));
    assert.equal(r.schema, undefined);
    assert.match(r.problem ?? '', /Date/);
  });
});
