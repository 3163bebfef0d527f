import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { z } from 'zod';
import {
  clientFor,
  createService,
  DEFAULTS,
  defineService,
  defineTopic,
  endpointSchemas,
  implement,
  subscribeTo,
  memoryBroker,
  ofType,
  type EndpointTypes,
  type Registry,
  type RegistryService,
} from '../../src/index.js';
import type { Endpoint } from '../../src/plugin.js';

/**
 * A Zod contract whose endpoints cover what the registry description has to carry, the Values
 * and JSON Schemas they must publish, and the round trip through any registry (not a test file;
 * test/contract/registry-schemas.test.ts runs it on the local registry, Consul and etcd).
 */

const Address = z.object({ street: z.string(), zip: z.string() }).meta({ title: 'Address' });
export const HelloRequest = z
  .object({ name: z.string(), times: z.int32().optional(), tags: z.array(z.string()) })
  .meta({ title: 'HelloRequest' });
const HelloResponse = z.object({ msg: z.string(), to: Address }).meta({ title: 'HelloResponse' });

/** A request schema as a proto generator would hand it over: with the exact Value to publish. */
const ProtoRequest = Object.assign(z.object({ id: z.string() }), {
  registryValue: {
    name: 'GetRequest',
    type: 'GetRequest',
    values: [{ name: 'id', type: 'string' }],
  },
});

export const Greeter = defineService('schemas-greeter', {
  Greeter: {
    Hello: { request: HelloRequest, response: HelloResponse, description: 'Says hello' },
    Count: { request: z.object({ upTo: z.int() }), response: z.int(), stream: 'server' },
    Typed: { request: ofType<{ a: string }>('TypedRequest'), response: ofType<{ b: string }>() },
    Get: { request: ProtoRequest, response: z.object({ found: z.boolean() }) },
    When: { request: z.object({ at: z.date() }), response: z.object({ ok: z.boolean() }) },
  },
});

export const Joined = defineTopic(
  'schemas.user.joined',
  z.object({ user: z.string(), at: z.number() }),
);

/** What each endpoint must publish, as go-micro's Endpoint JSON (metadata without schemas). */
export const EXPECTED: Record<string, Omit<Endpoint, 'name'>> = {
  'Greeter.Count': {
    request: {
      name: 'CountRequest',
      type: 'CountRequest',
      values: [{ name: 'upTo', type: 'int64' }],
    },
    response: { name: 'int64', type: 'int64' },
    metadata: { stream: 'true' },
  },
  'Greeter.Get': {
    request: { name: 'GetRequest', type: 'GetRequest', values: [{ name: 'id', type: 'string' }] },
    response: {
      name: 'GetResponse',
      type: 'GetResponse',
      values: [{ name: 'found', type: 'bool' }],
    },
    metadata: {},
  },
  'Greeter.Hello': {
    request: {
      name: 'HelloRequest',
      type: 'HelloRequest',
      values: [
        { name: 'name', type: 'string' },
        { name: 'times', type: 'int32' },
        { name: 'tags', type: '[]string' },
      ],
    },
    response: {
      name: 'HelloResponse',
      type: 'HelloResponse',
      values: [
        { name: 'msg', type: 'string' },
        {
          name: 'to',
          type: 'Address',
          values: [
            { name: 'street', type: 'string' },
            { name: 'zip', type: 'string' },
          ],
        },
      ],
    },
    metadata: { description: 'Says hello' },
  },
  // A type name only: {name, type}; no name: nothing.
  'Greeter.Typed': { request: { name: 'TypedRequest', type: 'TypedRequest' }, metadata: {} },
  // Zod cannot write a Date as JSON Schema: no request type or schema, the response as usual.
  'Greeter.When': {
    response: {
      name: 'WhenResponse',
      type: 'WhenResponse',
      values: [{ name: 'ok', type: 'bool' }],
    },
    metadata: {},
  },
  'schemas.user.joined': {
    request: {
      name: 'SchemasUserJoined',
      type: 'SchemasUserJoined',
      values: [
        { name: 'user', type: 'string' },
        { name: 'at', type: 'float64' },
      ],
    },
    metadata: { topic: 'schemas.user.joined', subscriber: 'true' },
  },
};

/** Which endpoints publish which JSON Schema. */
export const WITH_SCHEMAS: Record<string, ('request' | 'response')[]> = {
  'Greeter.Count': ['request', 'response'],
  'Greeter.Get': ['request', 'response'],
  'Greeter.Hello': ['request', 'response'],
  'Greeter.Typed': [],
  'Greeter.When': ['response'],
  'schemas.user.joined': ['request'],
};

/** A logger whose warnings a test reads. */
export function recordingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n'))
        if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'warn' }, sink), lines };
}

/** The endpoints of `name` as `reader` (a client of the registry of its own) sees them. */
export async function registeredEndpoints(
  reader: Registry,
  name: string,
): Promise<Map<string, Endpoint>> {
  const services: RegistryService[] = await reader.getService(name);
  assert.equal(services.length, 1, `one version of ${name} registered`);
  assert.equal(services[0].nodes.length, 1, 'one node');
  return new Map(services[0].endpoints.map((e) => [e.name, e]));
}

/** An endpoint's registry entry without its schema keys, as go-micro's JSON has it. */
export function withoutSchemas(e: Endpoint): Omit<Endpoint, 'name'> {
  const { request_schema: _req, response_schema: _res, ...metadata } = e.metadata;
  const out: Omit<Endpoint, 'name'> = { metadata };
  // A registry that stores go-micro's `null` for a missing value reads it back as absent.
  if (e.request) out.request = e.request;
  if (e.response) out.response = e.response;
  return out;
}

/**
 * Serves the contract and the topic on `registry`, then reads the entry back through `reader` and
 * checks every endpoint's Values and JSON Schemas, and that a typed call still works.
 */
export async function assertRoundTrip(registry: Registry, reader: Registry): Promise<void> {
  const { logger, lines } = recordingLogger();
  const service = createService({
    name: Greeter.name,
    registry,
    broker: memoryBroker(),
    logger,
    address: '127.0.0.1:0',
    handleSignals: false,
  });
  implement(service, Greeter, {
    Greeter: {
      Hello: ({ name }) => ({ msg: `hello ${name}`, to: { street: 's', zip: 'z' } }),
      Count: async ({ upTo }, stream) => {
        for (let i = 1; i <= upTo; i++) await stream.send(i);
      },
      Typed: ({ a }) => ({ b: a }),
      Get: () => ({ found: true }),
      When: () => ({ ok: true }),
    },
  });
  subscribeTo(service, Joined, () => {});
  await service.start();
  try {
    const endpoints = await registeredEndpoints(reader, Greeter.name);
    assert.deepEqual([...endpoints.keys()].sort(), Object.keys(EXPECTED).sort());
    for (const [name, expected] of Object.entries(EXPECTED)) {
      const e = endpoints.get(name)!;
      assert.deepEqual(withoutSchemas(e), expected, name);
      const schemas = endpointSchemas(e);
      assert.deepEqual(Object.keys(schemas).sort(), WITH_SCHEMAS[name], `${name} schemas`);
    }
    // The schemas are the libraries' own, whole.
    const hello = endpointSchemas(endpoints.get('Greeter.Hello')!);
    assert.deepEqual(
      hello.request,
      HelloRequest['~standard'].jsonSchema.input({ target: 'draft-2020-12' }),
    );
    assert.equal((hello.response as { title?: string }).title, 'HelloResponse');
    const joined = endpointSchemas(endpoints.get('schemas.user.joined')!);
    assert.deepEqual(
      joined.request,
      Joined.event['~standard'].jsonSchema.input({ target: 'draft-2020-12' }),
    );

    // The one schema Zod could not describe is named in a warning; nothing else warned.
    const warnings = lines.filter((l) => l.level === 40).map((l) => String(l.msg));
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0], /Greeter\.When: request: Date cannot be represented/);

    const greeter = clientFor(Greeter, service.client);
    assert.deepEqual(await greeter.Greeter.Hello({ name: 'Ada', tags: [] }), {
      msg: 'hello Ada',
      to: { street: 's', zip: 'z' },
    });
  } finally {
    await service.stop();
  }
}

/** A JSON Schema whose compact JSON is `bytes` long, of text zlib cannot shrink much. */
export function schemaOfSize(bytes: number): Record<string, unknown> {
  const base = { type: 'object', description: '' };
  const room = bytes - JSON.stringify(base).length;
  assert.ok(room >= 0);
  const description = randomBytes(room).toString('base64url').slice(0, room);
  const schema = { ...base, description };
  assert.equal(JSON.stringify(schema).length, bytes);
  return schema;
}

/**
 * Registers, through the server's own path, a service of `endpoints` endpoints whose request and
 * response schemas are each just at the limit, then checks `reader` gives every schema back whole.
 * What the limit is for: the largest node it allows must fit the registry.
 */
export async function assertLargestNodeFits(
  registry: Registry,
  reader: Registry,
  endpoints: number,
): Promise<void> {
  const { logger, lines } = recordingLogger();
  const name = 'schemas-largest';
  const service = createService({
    name,
    registry,
    broker: memoryBroker(),
    logger,
    address: '127.0.0.1:0',
    handleSignals: false,
  });
  const methods: Record<string, () => unknown> = {};
  const types: Record<string, EndpointTypes> = {};
  for (let i = 0; i < endpoints; i++) {
    methods[`M${i}`] = () => ({});
    types[`M${i}`] = {
      requestSchema: schemaOfSize(DEFAULTS.registrySchemaMaxBytes),
      responseSchema: schemaOfSize(DEFAULTS.registrySchemaMaxBytes),
    };
  }
  service.handle('Big', methods, { endpointTypes: types });
  await service.start();
  try {
    assert.deepEqual(lines, [], 'no schema at the limit is left out');
    const got = await registeredEndpoints(reader, name);
    assert.equal(got.size, endpoints);
    for (const [method, t] of Object.entries(types)) {
      const e = got.get(`Big.${method}`);
      assert.ok(e, method);
      assert.deepEqual(endpointSchemas(e), {
        request: t.requestSchema,
        response: t.responseSchema,
      });
    }
  } finally {
    await service.stop();
  }
}
