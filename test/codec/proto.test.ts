import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { InvalidOptionError } from '../../src/index.js';
import { protoCodec } from '../../src/codec/proto.js';
import { negotiate } from '../../src/transport/grpc/server.js';
import { HELLO_PROTO } from '../helpers/protos.js';

const req = { endpoint: 'Greeter.SayHello', kind: 'request' } as const;
const rsp = { endpoint: 'Greeter.SayHello', kind: 'response' } as const;

test('service methods resolve by Handler.Method; values round-trip with proto3-JSON-like shapes', () => {
  const c = protoCodec({ protos: HELLO_PROTO });
  assert.equal(c.name, 'proto');
  assert.equal(c.contentType, 'application/grpc+proto');
  const bytes = c.encode(
    { name: 'Ada', visits: '18446744073709551', mood: 'GRUMPY', tags: ['a', 'b'] },
    req,
  );
  assert.deepEqual(c.decode(bytes, req), {
    name: 'Ada',
    visits: '18446744073709551',
    mood: 'GRUMPY',
    tags: ['a', 'b'],
  });
  // Every field present with its default, as handlers expect typed objects.
  assert.deepEqual(c.decode(new Uint8Array(), rsp), {
    message: '',
    visits: '0',
    mood: 'MOOD_UNSPECIFIED',
  });
  // The same bytes as protobufjs writes for the type: the wire format, not a private one.
  const direct = protobuf.loadSync(HELLO_PROTO).lookupType('helloworld.HelloRequest');
  assert.deepEqual(
    Buffer.from(bytes),
    Buffer.from(
      direct
        .encode(
          direct.fromObject({
            name: 'Ada',
            visits: '18446744073709551',
            mood: 2,
            tags: ['a', 'b'],
          }),
        )
        .finish(),
    ),
  );
});

test('keepCase keeps snake_case field names; endpoints and events map extra types', () => {
  const root = protobuf.Root.fromJSON({
    nested: { ev: { nested: { UserCreated: { fields: { user_id: { type: 'string', id: 1 } } } } } },
  });
  const c = protoCodec({
    protos: root,
    endpoints: { 'Users.Create': { request: 'ev.UserCreated', response: 'ev.UserCreated' } },
    events: { 'user.created': 'ev.UserCreated' },
  });
  const hint = { endpoint: 'user.created', kind: 'event' } as const;
  assert.deepEqual(c.decode(c.encode({ user_id: 'u1' }, hint), hint), { user_id: 'u1' });
  assert.deepEqual(
    c.decode(c.encode({ user_id: 'u2' }, { endpoint: 'Users.Create', kind: 'request' }), {
      endpoint: 'Users.Create',
      kind: 'response',
    }),
    { user_id: 'u2' },
  );
  const camel = protoCodec({ protos: HELLO_PROTO, keepCase: false });
  assert.deepEqual(
    Object.keys(
      camel.decode(new Uint8Array(), { endpoint: 'Greeter.Sum', kind: 'response' }) as object,
    ).sort(),
    ['count', 'total'],
  );
});

test('unknown endpoints, non-objects and malformed bytes throw clear errors', () => {
  const c = protoCodec({ protos: HELLO_PROTO });
  assert.throws(
    () => c.encode({}, { endpoint: 'Greeter.Nope', kind: 'request' }),
    /no protobuf request type for Greeter\.Nope/,
  );
  assert.throws(() => c.encode({}), /needs to know the endpoint/);
  assert.throws(() => c.encode('Ada', req), /expects an object, got string/);
  const good = c.encode({ name: 'Ada', visits: '5' }, req);
  assert.throws(() => c.decode(good.subarray(0, good.length - 1), req));
  assert.throws(() => c.decode(new Uint8Array([0x0f]), req), /wire type|index out of range/);
});

test('bad options throw InvalidOptionError naming the option', () => {
  assert.throws(() => protoCodec({ protos: [] }), InvalidOptionError);
  assert.throws(
    () => protoCodec({ protos: '/nonexistent/x.proto' }),
    (e: unknown) => e instanceof InvalidOptionError && /cannot load/.test(e.message),
  );
  assert.throws(
    () => protoCodec({ protos: HELLO_PROTO, events: { t: 'helloworld.Missing' } }),
    (e: unknown) => e instanceof InvalidOptionError && /events\.t/.test(e.message),
  );
});

test('negotiation: a specific content-type wins, plain application/grpc defers to x-content-type, else proto', () => {
  assert.equal(
    negotiate('application/grpc+json', 'application/grpc+proto'),
    'application/grpc+json',
  );
  assert.equal(negotiate('application/grpc', 'application/grpc+json'), 'application/grpc+json');
  assert.equal(negotiate('application/grpc', undefined), 'application/grpc');
  assert.equal(negotiate(undefined, undefined), 'application/grpc');
});
