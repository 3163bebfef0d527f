import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeEnvelope,
  encodeEnvelope,
  MalformedEnvelopeError,
} from '../../src/broker/envelope.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

test('encodes go-micro\'s broker.Message JSON exactly: {"Header":{...},"Body":"<base64>"}', () => {
  const body = new TextEncoder().encode('{"id":1}');
  const wire = encodeEnvelope({
    header: { 'Content-Type': 'application/json', 'Micro-Topic': 'user.created' },
    body,
  });
  // What Go's json.Marshal(&broker.Message{...}) prints for the same message.
  assert.equal(
    text(wire),
    '{"Header":{"Content-Type":"application/json","Micro-Topic":"user.created"},"Body":"eyJpZCI6MX0="}',
  );
});

test('decodes what a Go publisher sends, including nil header and body and any key case', () => {
  const m = decodeEnvelope(
    new TextEncoder().encode('{"Header":{"Micro-Id":"x"},"Body":"AAEC/w=="}'),
  );
  assert.deepEqual(m.header, { 'Micro-Id': 'x' });
  assert.deepEqual([...m.body], [0, 1, 2, 255]);
  const empty = decodeEnvelope(new TextEncoder().encode('{"Header":null,"Body":null}'));
  assert.deepEqual(empty, { header: {}, body: new Uint8Array(0) });
  const lower = decodeEnvelope(new TextEncoder().encode('{"header":{"a":"b"},"body":"YQ=="}'));
  assert.deepEqual(lower.header, { a: 'b' });
  assert.equal(text(lower.body), 'a');
});

test('round-trips arbitrary bytes and headers', () => {
  const body = new Uint8Array(1000).map((_, i) => (i * 37) % 256);
  const header = { 'Content-Type': 'application/octet-stream', tenant: 'ü-ñ' };
  assert.deepEqual(decodeEnvelope(encodeEnvelope({ header, body })), { header, body });
});

test('rejects payloads that are not the envelope with MalformedEnvelopeError', () => {
  for (const bad of [
    '',
    'nope',
    '[]',
    '"x"',
    '{"Header":[]}',
    '{"Header":{"a":1}}',
    '{"Body":"a"}',
    '{"Body":"***"}',
    '{"Body":5}',
  ]) {
    assert.throws(() => decodeEnvelope(new TextEncoder().encode(bad)), MalformedEnvelopeError, bad);
  }
  assert.throws(
    () => decodeEnvelope(new Uint8Array([0xff, 0xfe])),
    MalformedEnvelopeError,
    'invalid UTF-8',
  );
});
