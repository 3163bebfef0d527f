import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeEndpoints,
  decodeMetadata,
  decodeVersion,
  encodePayload,
  encodeTags,
} from '../../../src/registry/consul/encoding.js';
import type { Endpoint } from '../../../src/registry/registry.js';

// Tags produced by Go. The two `t-` tags are go-micro's own output quoted in micro/go-micro#276
// (go-micro-reference.md §4.3). The others were produced with Go 1.26's compress/zlib by
// go-micro's `encode` function (zlib.NewWriter, Write, Close, hex) over the JSON Go's
// encoding/json makes of go-micro v5's registry.Endpoint (field order request, response,
// metadata, name; `"values":null` for leaves).
const GO_TRANSPORT_TAG = 't-789caa562a294acc2b2ec82f2a51b252ca28292950aa05040000ffff4f930768';
const GO_REGISTRY_TAG = 't-789caa562a4a4dcf2c2e29aa54b2524acecf2b2ecd51aa05040000ffff560f07c8';
const GO_PROTOCOL_TAG = 't-789caa562a28ca2fc94fcecf51b2524a2f2a4856aa05040000ffff468306d9';
const GO_HELLO_TAG =
  'e-789c8ccd41aa02311084e1bbd43abc03e402cfb55b7111b018844e66ecee08127277611883382e5c35fc74f135286f95e6880d256522e24091f9b8e5007f2c5fea3d49a5219ec66c3de3dd5caf657a7b2c55a49f7b80d296b918f7e2d63fc991f766b6e91732d3d32579426c3dbcb6ff4a3af56f55d09f010000ffffa70f5b4b';
const GO_STREAM_TAG =
  'e-789c6ccdcb0902411084e15cea3c184027a0678da0c1baf5ccaefd106499dc45466f5ebf82fa0f381fc548c881a19d105c68b65dbfdc90affd8f3ed58a011965361b9cb16f23b8a0a133f5aea99fdb48a77608d28b98edd7393b99f4d36dedf31d0000ffff865e30f6';
const GO_VERSION_TAG = 'v-789c32d433d23300040000ffff02d400f0';
const GO_TAGS = [
  GO_TRANSPORT_TAG,
  GO_REGISTRY_TAG,
  GO_PROTOCOL_TAG,
  GO_HELLO_TAG,
  GO_STREAM_TAG,
  GO_VERSION_TAG,
];

const HELLO: Endpoint = {
  name: 'Greeter.Hello',
  request: {
    name: 'HelloRequest',
    type: 'HelloRequest',
    values: [{ name: 'name', type: 'string' }],
  },
  response: {
    name: 'HelloResponse',
    type: 'HelloResponse',
    values: [{ name: 'msg', type: 'string' }],
  },
  metadata: {},
};
const STREAM: Endpoint = {
  name: 'Greeter.Stream',
  request: { name: 'HelloRequest', type: 'HelloRequest' },
  metadata: { stream: 'true' },
};

test('tags written by go-micro decode to its version, endpoints and metadata', () => {
  assert.equal(decodeVersion(GO_TAGS), '1.2.0');
  assert.deepEqual(decodeMetadata(GO_TAGS), {
    transport: 'http',
    registry: 'consul',
    protocol: 'grpc',
  });
  assert.deepEqual(decodeEndpoints(GO_TAGS), [HELLO, STREAM]);
});

test("our tags decode the same way as go-micro's", () => {
  const ours = encodeTags(
    { transport: 'http', registry: 'consul', protocol: 'grpc' },
    [HELLO, STREAM],
    '1.2.0',
  );
  assert.equal(decodeVersion(ours), decodeVersion(GO_TAGS));
  assert.deepEqual(decodeMetadata(ours), decodeMetadata(GO_TAGS));
  assert.deepEqual(decodeEndpoints(ours), decodeEndpoints(GO_TAGS));
  // go-micro's order: metadata, endpoints, then the one version tag; lowercase hex of a zlib
  // stream.
  assert.deepEqual(
    ours.map((t) => t.slice(0, 2)),
    ['t-', 't-', 't-', 'e-', 'e-', 'v-'],
  );
  for (const t of ours) assert.match(t, /^[tev]-78[0-9a-f]+$/);
});

test('the plain legacy forms decode, and a service without a version tag has version ""', () => {
  const tags = ['v=1.0.0', 't={"a":"1"}', 't={"b":"2"}', `e=${JSON.stringify(HELLO)}`];
  assert.equal(decodeVersion(tags), '1.0.0');
  assert.deepEqual(decodeMetadata(tags), { a: '1', b: '2' });
  assert.deepEqual(decodeEndpoints(tags), [HELLO]);
  assert.equal(decodeVersion(['t-00', 'urlprefix-/x']), '');
});

test('the first decodable tag fixes the variant; bad tags are ignored as go-micro ignores them', () => {
  const tags = [
    't-zz',
    't=not json',
    `t-${encodePayload('{"a":"1"}')}`,
    't={"b":"2"}',
    `t-${encodePayload('{"c":"3"}')}`,
  ];
  assert.deepEqual(decodeMetadata(tags), { a: '1', c: '3' });
  assert.deepEqual(decodeEndpoints(['e-', 'e-0102', `e-${encodePayload('{"nope":1}')}`]), []);
});
