import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { get, post, startFleet } from './fleet.js';

/** Sends `head` (and then nothing) on a raw connection; resolves with all the gateway answers. */
async function raw(url: string, head: string): Promise<string> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  socket.write(head);
  let text = '';
  socket.setEncoding('utf8').on('data', (d: string) => (text += d));
  // The gateway closes the connection after answering; the test's own timeout bounds the wait.
  await once(socket, 'close');
  return text;
}

test('limits: body 413, malformed JSON and URLs 400, media type 415, URL 414, head 431, slow clients 408; the gateway keeps serving', async () => {
  await using fleet = await startFleet();
  const big = await post(`${fleet.url}/echo/Echo/Call`, { pad: 'x'.repeat(5000) });
  assert.equal(big.status, 413);
  assert.equal(big.body.id, 'go.micro.gateway');
  assert.equal(big.body.code, 413);
  const malformed = await post(`${fleet.url}/echo/Echo/Call`, '{"n": 1,');
  assert.equal(malformed.status, 400);
  assert.equal(malformed.body.id, 'go.micro.gateway');
  const xml = await fetch(`${fleet.url}/echo/Echo/Call`, {
    method: 'POST',
    headers: { 'content-type': 'application/xml' },
    body: '<n>1</n>',
  });
  assert.equal(xml.status, 415);
  assert.equal(((await xml.json()) as { code: number }).code, 415);
  // text/plain is refused too: a browser would send it cross-origin without a preflight.
  const text = await fetch(`${fleet.url}/echo/Echo/Call`, { method: 'POST', body: '{}' });
  assert.equal(text.status, 415);
  // An empty JSON body is no body: go-micro's route calls with {}.
  const empty = await fetch(`${fleet.url}/echo/Echo/Call`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(empty.status, 200);
  assert.deepEqual(((await empty.json()) as { request: unknown }).request, {});
  const long = await post(`${fleet.url}/echo/Echo/Call?${'q'.repeat(600)}`, {});
  assert.equal(long.status, 414);
  assert.equal(long.body.code, 414);

  const head = await raw(
    fleet.url,
    `POST /echo/Echo/Call HTTP/1.1\r\nHost: gw\r\nX-Big: ${'b'.repeat(6000)}\r\nContent-Length: 2\r\n\r\n{}`,
  );
  assert.match(head, /^HTTP\/1\.1 431 /);
  assert.match(head, /"id":"go.micro.gateway","code":431/);
  // Slow-loris: headers that never finish, and a body that never arrives, are cut.
  const slowHead = await raw(fleet.url, 'POST /echo/Echo/Call HTTP/1.1\r\nHost: gw\r\n');
  assert.match(slowHead, /^HTTP\/1\.1 408 /);
  const slowBody = await raw(
    fleet.url,
    'POST /echo/Echo/Call HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"n":',
  );
  assert.match(slowBody, /^HTTP\/1\.1 408 /);

  // A URL that does not decode, and bytes that are not HTTP: typed 400s.
  const badUrl = await post(`${fleet.url}/%zz/Echo/Call`, {});
  assert.equal(badUrl.status, 400);
  assert.equal(badUrl.body.id, 'go.micro.gateway');
  assert.match(await raw(fleet.url, 'NOT HTTP AT ALL\r\n\r\n'), /^HTTP\/1\.1 400 .*"code":400/s);

  const after = await post(`${fleet.url}/echo/Echo/Call`, { n: 9 });
  assert.equal(after.status, 200);
  assert.deepEqual(after.body.request, { n: 9 });
});

test('rate limit per route and key: 429 with Retry-After past the budget, other keys and routes unaffected', async () => {
  await using fleet = await startFleet();
  const as = (key: string) => ({ 'x-api-key': key });
  for (let i = 0; i < 3; i++)
    assert.equal((await post(`${fleet.url}/echo/Echo/Limited`, {}, as('k1'))).status, 200);
  const limited = await post(`${fleet.url}/echo/Echo/Limited`, {}, as('k1'));
  assert.equal(limited.status, 429);
  assert.equal(limited.body.id, 'go.micro.gateway');
  assert.equal(limited.body.code, 429);
  const retryAfter = Number(limited.headers.get('retry-after'));
  assert.ok(
    Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60,
    `Retry-After ${retryAfter}`,
  );
  // The same budget through go-micro's other path form and /rpc: it is the route's, not the URL's.
  assert.equal((await post(`${fleet.url}/echo/Echo.Limited`, {}, as('k1'))).status, 429);
  assert.equal(
    (await post(`${fleet.url}/rpc`, { service: 'echo', endpoint: 'Echo.Limited' }, as('k1')))
      .status,
    429,
  );
  assert.equal((await post(`${fleet.url}/echo/Echo/Limited`, {}, as('k2'))).status, 200);
  // Without a key header, by the client's address (X-Forwarded-For: the proxy is trusted).
  const from = (ip: string) => ({ 'x-forwarded-for': ip });
  for (let i = 0; i < 3; i++)
    assert.equal((await post(`${fleet.url}/echo/Echo/Limited`, {}, from('10.0.0.1'))).status, 200);
  assert.equal((await post(`${fleet.url}/echo/Echo/Limited`, {}, from('10.0.0.1'))).status, 429);
  assert.equal((await post(`${fleet.url}/echo/Echo/Limited`, {}, from('10.0.0.2'))).status, 200);
  assert.equal((await post(`${fleet.url}/echo/Echo/Call`, {}, as('k1'))).status, 200);
});

test('CORS per route: the allowed origin is granted with its policy, another origin and a route without CORS are not', async () => {
  await using fleet = await startFleet();
  const preflight = (path: string, origin: string) =>
    fetch(`${fleet.url}${path}`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-request-id',
      },
    });
  const ok = await preflight('/echo/Echo/Call', 'http://allowed.example');
  assert.equal(ok.status, 204);
  assert.equal(ok.headers.get('access-control-allow-origin'), 'http://allowed.example');
  assert.equal(ok.headers.get('access-control-allow-methods'), 'POST');
  assert.deepEqual(ok.headers.get('access-control-allow-headers')?.split(/\s*,\s*/), [
    'content-type',
    'x-request-id',
  ]);
  assert.equal(ok.headers.get('access-control-allow-credentials'), 'true');
  assert.equal(ok.headers.get('access-control-max-age'), '600');
  const refused = await preflight('/echo/Echo/Call', 'http://evil.example');
  assert.equal(refused.headers.get('access-control-allow-origin'), null);
  // The users contract has no CORS policy: no grant for any origin.
  const none = await preflight('/users', 'http://allowed.example');
  assert.equal(none.headers.get('access-control-allow-origin'), null);
  assert.equal(none.status, 404);

  // An OPTIONS that is no preflight gets the route's typed answer.
  const plain = await fetch(`${fleet.url}/echo/Echo/Call`, { method: 'OPTIONS' });
  assert.equal(plain.status, 404);
  assert.equal(((await plain.json()) as { id: string }).id, 'go.micro.gateway');

  const actual = await post(
    `${fleet.url}/echo/Echo/Call`,
    {},
    { origin: 'http://allowed.example' },
  );
  assert.equal(actual.status, 200);
  assert.equal(actual.headers.get('access-control-allow-origin'), 'http://allowed.example');
  assert.equal(actual.headers.get('access-control-expose-headers'), 'retry-after');
  assert.match(actual.headers.get('vary') ?? '', /origin/i);
  const other = await post(`${fleet.url}/echo/Echo/Call`, {}, { origin: 'http://evil.example' });
  assert.equal(other.headers.get('access-control-allow-origin'), null);
  const users = await get(`${fleet.url}/users/u1`, { origin: 'http://allowed.example' });
  assert.equal(users.status, 200);
  assert.equal(users.headers.get('access-control-allow-origin'), null);
});
