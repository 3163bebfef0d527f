import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { InvalidOptionError } from '../../src/index.js';
import { protoContract } from '../../src/contract/proto.js';
import { formatIssues } from '../../src/contract/issues.js';
import { GreeterDefinition } from '../gen/helloworld.js';
import { ShapesDefinition } from '../gen/shapes.js';
import { HELLO_PROTO } from '../helpers/protos.js';

// protoContract on its own: what it refuses, and what its message schemas accept, refuse and
// make of a message. (The interop with go-micro is test/gomicro/gomicro-proto.test.ts.)
const SHAPES_PROTO = fileURLToPath(new URL('../../../test/protos/shapes.proto', import.meta.url));

function validate(schema: unknown, value: unknown): StandardSchemaV1.Result<unknown> {
  const props = (schema as StandardSchemaV1)['~standard'];
  return props.validate(value) as StandardSchemaV1.Result<unknown>;
}

test('a definition and a .proto that differ, or a malformed definition, fail at once and say where', () => {
  assert.throws(
    () => protoContract('x', ShapesDefinition, { protos: HELLO_PROTO }),
    (err: unknown) =>
      err instanceof InvalidOptionError &&
      /protoContract\.protos.*no service shapes\.Shapes/.test(err.message),
  );
  assert.throws(
    () =>
      protoContract('x', { name: 'G', fullName: 'g.G', methods: { a: { name: 'A' } } } as never),
    (err: unknown) =>
      err instanceof InvalidOptionError &&
      /protoContract\.definition\.methods\.a/.test(err.message),
  );
  assert.throws(() => protoContract('x', GreeterDefinition, { protos: [] }), InvalidOptionError);
});

test('without the .proto the schemas carry types and names only', () => {
  const c = protoContract('greeter', GreeterDefinition);
  const { request } = c.handlers.Greeter.SayHello;
  assert.equal(
    typeof (request['~standard'] as Partial<StandardSchemaV1.Props>).validate,
    'undefined',
  );
  assert.equal(request.typeName, 'HelloRequest');
  assert.equal(request.registryValue, undefined);
  assert.equal(c.handlers.Greeter.Countdown.stream, 'server');
  assert.equal(c.handlers.Greeter.Sum.stream, 'client');
  assert.equal(c.handlers.Greeter.Chat.stream, 'bidi');
});

test('a valid message is normalised to what the proto codec decodes; proto3 JSON forms are accepted', () => {
  const c = protoContract('greeter', GreeterDefinition, { protos: HELLO_PROTO });
  assert.deepEqual(
    validate(c.handlers.Greeter.SayHello.request, { name: 'a', visits: 7, mood: 2 }),
    {
      value: { name: 'a', visits: '7', mood: 'GRUMPY', tags: [] },
    },
  );
});

test('each bad field is named by its path, at every depth, in maps and lists', () => {
  const c = protoContract('shapes', ShapesDefinition, { protos: SHAPES_PROTO });
  const result = validate(c.handlers.Shapes.Echo.request, {
    middle: { deep: { leaf: 3 }, deeps: [{ leaf: 'ok' }, 'no'] },
    byKey: { k: { kind: 'SQUARE' } },
    big: '18446744073709551616',
    when: '-1',
    blob: 'not base64!',
    ratio: '0.5',
    byId: 1.5,
  });
  assert.ok(result.issues, JSON.stringify(result));
  assert.equal(
    formatIssues(result.issues),
    [
      'middle.deep.leaf: expected string, received number',
      'middle.deeps[1]: expected an object (Deep), received string "no"',
      'byId: expected an integer (int32), received number 1.5',
      'byKey.k.kind: expected one of KIND_UNSPECIFIED, ROUND, received "SQUARE"',
      'blob: expected bytes (a Uint8Array or base64), received string "not base64!"',
      'big: 18446744073709551616 is out of range for uint64',
      'ratio: expected number, received string "0.5"',
    ].join('; '),
  );
  assert.deepEqual(
    validate(c.handlers.Shapes.Echo.request, []).issues?.[0]?.message,
    'expected an object (Outer), received array',
  );
});
