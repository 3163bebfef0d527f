import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { memoryRegistry } from '../../../src/index.js';
import { BROKER_SERVICE, httpBroker } from '../../../src/broker/http/http.js';

// What a hostile or confused peer can send to a broker port: every answer is go-micro's error
// JSON with a fitting status, and the broker keeps delivering afterwards.

interface Answer {
  status: number;
  json: { id?: string; code?: number; detail?: string };
}

async function send(
  url: string,
  init: { method?: string; body?: string | Uint8Array; headers?: Record<string, string> },
): Promise<Answer> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text) as Answer['json'] };
}

/** Writes raw bytes on a fresh connection and returns everything the server sends back. */
function raw(host: string, port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (out += d));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
    socket.write(bytes);
  });
}

test('malformed HTTP to the broker port gets typed errors; the broker keeps serving', async () => {
  const registry = memoryRegistry();
  const sub = httpBroker({ registry, maxBodyBytes: 1024 });
  const pub = httpBroker({ registry });
  try {
    const got: string[] = [];
    await sub.subscribe('t', async (m) => void got.push(Buffer.from(m.body).toString()));
    const [service] = await registry.getService(BROKER_SERVICE);
    const node = service.nodes[0];
    const base = `http://${node.address}`;
    const at = `${base}/?id=${node.id}`;
    const envelope = (header: Record<string, string>, body: string): string =>
      JSON.stringify({ Header: header, Body: Buffer.from(body).toString('base64') });

    const cases: [string, Promise<Answer>, number, RegExp][] = [
      ['GET', send(at, {}), 405, /method GET not allowed/],
      [
        'another path',
        send(`${base}/_sub?id=${node.id}`, { method: 'POST', body: '{}' }),
        404,
        /path/,
      ],
      ['not JSON', send(at, { method: 'POST', body: 'hello' }), 400, /not JSON/],
      ['JSON array', send(at, { method: 'POST', body: '[1]' }), 400, /not a JSON object/],
      [
        'Body not base64',
        send(at, { method: 'POST', body: '{"Header":{"Micro-Topic":"t"},"Body":"@@"}' }),
        400,
        /Body is not base64/,
      ],
      [
        'header values not strings',
        send(at, { method: 'POST', body: '{"Header":{"Micro-Topic":7}}' }),
        400,
        /is not a string/,
      ],
      ['no topic', send(at, { method: 'POST', body: envelope({}, 'x') }), 400, /Micro-Topic/],
      [
        'unknown subscription',
        send(`${base}/?id=nobody`, { method: 'POST', body: envelope({ 'Micro-Topic': 't' }, 'x') }),
        404,
        /no subscription "nobody"/,
      ],
      [
        'topic of another subscription',
        send(at, { method: 'POST', body: envelope({ 'Micro-Topic': 'other' }, 'x') }),
        400,
        /is to t, the message is on other/,
      ],
      [
        'too large',
        send(at, { method: 'POST', body: envelope({ 'Micro-Topic': 't' }, 'x'.repeat(2000)) }),
        413,
        /larger than 1024 bytes/,
      ],
    ];
    for (const [what, answer, status, detail] of cases) {
      const { status: s, json } = await answer;
      assert.equal(s, status, what);
      assert.equal(json.code, status, what);
      assert.equal(json.id, 'tsmicro.broker', what);
      assert.match(json.detail ?? '', detail, what);
    }

    const [host, port] = [node.address.split(':')[0], Number(node.address.split(':')[1])];
    const garbage = await raw(host, port, 'NOT HTTP AT ALL\r\n\r\n');
    assert.match(garbage, /^HTTP\/1\.1 400 /);
    assert.match(garbage, /"id":"tsmicro.broker","code":400,"detail":"malformed HTTP request/);

    assert.deepEqual(got, [], 'nothing malformed reached the handler');
    assert.equal(sub.stats().malformed, 5);
    // Still serving, to publishers and to a hand-made go-micro envelope alike.
    await pub.publish('t', { header: {}, body: Buffer.from('after') });
    const ok = await fetch(at, { method: 'POST', body: envelope({ 'Micro-Topic': 't' }, 'go') });
    assert.equal(ok.status, 200);
    assert.deepEqual(got, ['after', 'go']);
  } finally {
    await Promise.all([sub.disconnect(), pub.disconnect()]);
  }
});
