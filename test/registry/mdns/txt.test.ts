import assert from 'node:assert/strict';
import { deflateSync, inflateSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { decodeTxt, encodeTxt } from '../../../src/registry/mdns/txt.js';
import type { ServiceInfo } from '../../../src/registry/node-records.js';

// go-micro's TXT encoding (registry/mdns_registry.go encode/decode), both ways, and what a
// decoder must refuse. The records built from it travel in the mdns and go-micro tests.
const service: ServiceInfo = {
  name: 'ts.txt',
  version: '1.2.3',
  endpoints: [
    {
      name: 'Greeter.Hello',
      request: { name: 'Req', type: 'Req', values: [{ name: 'name', type: 'string' }] },
      response: null,
      metadata: { stream: 'true' },
    },
  ],
};

describe("mDNS TXT: go-micro's zlib + hex encoding", () => {
  test('is zlib-compressed JSON with Go field names, hex, in strings of at most 255', () => {
    const meta = { big: 'x'.repeat(2_000), weight: '3' };
    // Random-ish content so compression cannot make it fit in one string.
    for (let i = 0; i < 40; i++) meta[`k${i}` as 'weight'] = `${(i * 7919) % 1000}-${i * 31}`;
    const strings = encodeTxt(service, meta);
    assert.ok(strings.length > 1, 'long enough to be split');
    for (const s of strings.slice(0, -1)) assert.equal(s.length, 255);
    assert.ok(strings.at(-1)!.length <= 255);
    const json = JSON.parse(inflateSync(Buffer.from(strings.join(''), 'hex')).toString()) as object;
    assert.deepEqual(Object.keys(json), ['Metadata', 'Service', 'Version', 'Endpoints']);
    assert.deepEqual(json, {
      Metadata: meta,
      Service: 'ts.txt',
      Version: '1.2.3',
      Endpoints: service.endpoints,
    });
    assert.deepEqual(decodeTxt(strings), { service, metadata: meta });
  });

  test('decodes what Go writes: null metadata and values, and strings as bytes', () => {
    const go = JSON.stringify({
      Metadata: null,
      Service: 'go.svc',
      Version: 'latest',
      Endpoints: [
        {
          name: 'G.H',
          request: { name: 'S', type: 'S', values: null },
          response: null,
          metadata: null,
        },
      ],
    });
    const hex = deflateSync(go).toString('hex');
    const decoded = decodeTxt([Buffer.from(hex.slice(0, 10)), Buffer.from(hex.slice(10))]);
    assert.deepEqual(decoded, {
      service: {
        name: 'go.svc',
        version: 'latest',
        endpoints: [
          { name: 'G.H', request: { name: 'S', type: 'S' }, response: null, metadata: {} },
        ],
      },
      metadata: {},
    });
  });

  test('refuses hostile records, saying why', () => {
    const z = (s: string | Buffer): string[] => [deflateSync(s).toString('hex')];
    let deep = '{"name":"v","type":"t"}';
    for (let i = 0; i < 100; i++) deep = `{"name":"v","type":"t","values":[${deep}]}`;
    const cases: [string[], RegExp][] = [
      [[], /not hex/],
      [['zz'], /not hex/],
      [['abc'], /not hex/],
      [['deadbeef'], /does not inflate/],
      [z(Buffer.alloc(4 * 1024 * 1024)), /does not inflate/],
      [z('{"Service":'), /not JSON/],
      [z('"text"'), /not an object/],
      [z('{"Version":"1"}'), /no Service/],
      [z('{"Service":"s","Version":1}'), /Version/],
      [z('{"Service":"s","Version":"1","Endpoints":{}}'), /Endpoints/],
      [z('{"Service":"s","Version":"1","Endpoints":[{"name":1}]}'), /endpoint has no name/],
      [z(`{"Service":"s","Version":"1","Endpoints":[{"name":"e","request":${deep}}]}`), /too deep/],
    ];
    for (const [strings, why] of cases)
      assert.throws(() => decodeTxt(strings), why, strings.join('').slice(0, 40));
  });
});
