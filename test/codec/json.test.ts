import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonCodec } from '../../src/codec/json.js';
import { bytesCodec } from '../../src/codec/bytes.js';
import { codecNameOf, findCodec } from '../../src/codec/codec.js';

test('json codec round-trips values and decodes an empty body as an empty message', () => {
  const c = jsonCodec();
  assert.deepEqual(c.decode(c.encode({ a: [1, 'x', null] })), { a: [1, 'x', null] });
  assert.deepEqual(c.decode(new Uint8Array()), {});
  assert.equal(new TextDecoder().decode(c.encode(undefined)), 'null');
});

test('json codec rejects malformed JSON and invalid UTF-8', () => {
  const c = jsonCodec();
  assert.throws(() => c.decode(new TextEncoder().encode('{"a":')), SyntaxError);
  assert.throws(() => c.decode(new Uint8Array([0x7b, 0xff, 0x7d])), TypeError);
});

test('bytes codec passes bytes through and refuses anything else', () => {
  const c = bytesCodec();
  const b = new Uint8Array([1, 2, 3]);
  assert.equal(c.encode(b), b);
  assert.equal(c.decode(b), b);
  assert.throws(() => c.encode('text'), TypeError);
});

test('content types resolve to codecs as go-micro names them', () => {
  assert.equal(codecNameOf('application/grpc'), 'proto');
  assert.equal(codecNameOf('application/grpc+json; charset=utf-8'), 'json');
  assert.equal(codecNameOf('application/octet-stream'), 'bytes');
  const codecs = [jsonCodec(), bytesCodec()];
  assert.equal(findCodec(codecs, 'application/json')?.name, 'json');
  assert.equal(findCodec(codecs, 'bytes')?.name, 'bytes');
  assert.equal(findCodec(codecs, 'application/grpc+proto'), undefined);
});
