import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { localRegistry } from '../../src/index.js';
import { get, post, startFleet } from './fleet.js';

// go-micro's routes through a gateway process to two service processes, by fetch.
test('go-micro routes: both path forms and /rpc call the service; GET / and GET /{service} describe', async () => {
  await using fleet = await startFleet();
  const a = await post(`${fleet.url}/echo/Echo/Call`, { n: 1 });
  assert.equal(a.status, 200);
  assert.deepEqual(a.body.request, { n: 1 });
  const b = await post(`${fleet.url}/echo/echo.call`, { n: 2 });
  assert.equal(b.status, 200, JSON.stringify(b.body));
  assert.deepEqual(b.body.request, { n: 2 });
  const c = await post(`${fleet.url}/rpc`, {
    service: 'echo',
    endpoint: 'Echo.Call',
    request: { n: 3 },
  });
  assert.equal(c.status, 200);
  assert.deepEqual(c.body.request, { n: 3 });

  // Both nodes answer: the client's selector spreads the calls.
  const seen = new Set<unknown>();
  for (let i = 0; i < 50 && seen.size < 2; i++)
    seen.add((await post(`${fleet.url}/echo/Echo/Call`, {})).body.node);
  assert.deepEqual([...seen].sort(), ['a', 'b']);

  const list = await get(`${fleet.url}/`);
  assert.equal(list.status, 200);
  // `ghost` is allowed but not registered; `users` comes from the contract.
  assert.deepEqual(list.body.services, [{ name: 'echo' }, { name: 'secure' }, { name: 'users' }]);
  const users = await get(`${fleet.url}/users`);
  assert.equal(users.status, 200);
  const [version] = users.body.versions as {
    nodes: number;
    endpoints: { name: string; schemas: { request?: { type?: string } } }[];
  }[];
  assert.equal(version.nodes, 2);
  const getEndpoint = version.endpoints.find((e) => e.name === 'Users.Get');
  assert.equal(
    getEndpoint?.schemas.request?.type,
    'object',
    'the contract schema is in the registry',
  );
});

test('nothing outside the allow-list is reachable; bad envelopes are 400', async () => {
  await using fleet = await startFleet();
  // gateway-test is the gateway's own (never started) client service; not allowed either way.
  for (const path of ['/gateway-test/Echo/Call', '/nope/A/B', '/echo/not-an-endpoint']) {
    const r = await post(`${fleet.url}${path}`, {});
    assert.equal(r.status, 404, path);
    assert.equal(r.body.id, 'go.micro.gateway');
    assert.equal(r.body.code, 404);
    assert.equal(r.body.status, 'Not Found');
    assert.equal(r.headers.get('retry-after'), null, 'only a 429 says when to retry');
  }
  assert.equal((await get(`${fleet.url}/nope`)).status, 404);
  const hidden = await post(`${fleet.url}/rpc`, { service: 'nope', endpoint: 'A.B', request: {} });
  assert.equal(hidden.status, 404);
  const bad = await post(`${fleet.url}/rpc`, { endpoint: 'Echo.Call' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.id, 'go.micro.gateway');
  assert.match(String(bad.body.detail), /service/);
});

test('errors: a MicroError keeps its status and body; no node is 503; a transport fault 502; a spent budget 504', async () => {
  await using fleet = await startFleet();
  for (const code of [400, 403, 404, 409, 429, 500]) {
    const r = await post(`${fleet.url}/echo/Echo/Fail`, { code, detail: `failed with ${code}` });
    assert.equal(r.status, code);
    assert.deepEqual(r.body, {
      id: 'echo',
      code,
      detail: `failed with ${code}`,
      status: r.body.status,
    });
    assert.ok(typeof r.body.status === 'string' && r.body.status !== '');
  }
  // A code no HTTP status carries is the 500 it means.
  const odd = await post(`${fleet.url}/echo/Echo/Fail`, { code: 1234 });
  assert.equal(odd.status, 500);
  const ghost = await post(`${fleet.url}/ghost/Any/Thing`, {});
  assert.equal(ghost.status, 503);
  assert.equal(ghost.body.code, 503);
  // A node that accepts connections and drops them: a transport fault, 502.
  const dropper = createServer((socket) => socket.destroy());
  dropper.listen(0, '127.0.0.1');
  await once(dropper, 'listening');
  const port = (dropper.address() as { port: number }).port;
  const registry = localRegistry({ dir: fleet.dir.path });
  try {
    await registry.register({
      name: 'dead',
      version: 'v1',
      endpoints: [],
      nodes: [{ id: 'dead-1', address: `127.0.0.1:${port}`, metadata: {} }],
    });
    const dead = await post(`${fleet.url}/dead/Any/Thing`, {});
    assert.equal(dead.status, 502);
    assert.equal(dead.body.code, 502);
    assert.equal(dead.body.status, 'Bad Gateway');
  } finally {
    await registry.close();
    dropper.close();
  }
  const slow = await post(`${fleet.url}/echo/Echo/Slow`, {}, { 'x-micro-timeout': '300ms' });
  assert.equal(slow.status, 504);
  assert.equal(slow.body.code, 504);
  assert.equal(slow.body.status, 'Gateway Timeout');
  // The timed-out handler was cancelled, on whichever node ran it.
  await Promise.race(fleet.nodes.map((n) => n.waitForLine(/^aborted /, 30_000)));
});

test('headers: allow-listed and x- headers become metadata, others do not; the deadline header bounds the call', async () => {
  await using fleet = await startFleet();
  const r = await post(
    `${fleet.url}/echo/Echo/Call`,
    {},
    {
      'x-request-id': 'req-1',
      authorization: 'Bearer abc',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      cookie: 'session=secret',
      'x-micro-timeout': '1500',
    },
  );
  assert.equal(r.status, 200);
  const md = r.body.metadata as Record<string, string>;
  assert.equal(md['x-request-id'], 'req-1');
  assert.equal(md.authorization, 'Bearer abc');
  assert.equal(md.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  assert.equal(md.cookie, undefined);
  assert.equal(md['x-micro-timeout'], undefined);
  const budget = r.body.budgetMs as number;
  assert.ok(
    budget > 0 && budget <= 1500,
    `the handler's budget ${budget} ms is within the header's 1500`,
  );
  // Without the header, the route default (10 s in this gateway) applies.
  const d = await post(`${fleet.url}/echo/Echo/Call`, {});
  const defaultBudget = d.body.budgetMs as number;
  assert.ok(defaultBudget > 1500 && defaultBudget <= 10_000, `default budget ${defaultBudget}`);
  const badTimeout = await post(`${fleet.url}/echo/Echo/Call`, {}, { 'x-micro-timeout': 'soon' });
  assert.equal(badTimeout.status, 400);
  assert.match(String(badTimeout.body.detail), /x-micro-timeout/);
});

test('a client that disconnects aborts the call: the handler in the service process sees ctx.signal fire', async () => {
  await using fleet = await startFleet();
  const controller = new AbortController();
  const pending = fetch(`${fleet.url}/echo/Echo/Slow`, {
    method: 'POST',
    // A deadline far past the test's wait: the abort the handler sees is the disconnect's.
    headers: { 'content-type': 'application/json', 'x-micro-timeout': '60s' },
    body: '{}',
    signal: controller.signal,
  }).catch((err: unknown) => err);
  const [started] = await Promise.race(
    fleet.nodes.map((n) => n.waitForLine(/^started (\w)/, 30_000)),
  );
  controller.abort();
  assert.ok((await pending) instanceof Error);
  const tag = started.split(' ')[1];
  const node = fleet.nodes[tag === 'a' ? 0 : 1];
  await node.waitForLine(new RegExp(`^aborted ${tag} cancelled$`), 30_000);
  // And the gateway still serves.
  assert.equal((await post(`${fleet.url}/echo/Echo/Call`, {})).status, 200);
});

test('auth: the JWT wrapper behind the gateway answers 401/403; an authorize hook refuses or admits at the edge', async () => {
  const { SignJWT } = await import('jose');
  const { TEST_SECRET } = await import('./fleet.js');
  await using fleet = await startFleet();
  const key = new TextEncoder().encode(TEST_SECRET);
  const token = (scope: string) =>
    new SignJWT({ scope })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('ann')
      .setExpirationTime('5m')
      .sign(key);
  const none = await post(`${fleet.url}/secure/Vault/Open`, {});
  assert.equal(none.status, 401);
  assert.equal(none.body.id, 'tsmicro.auth');
  const open = await post(
    `${fleet.url}/secure/Vault/Open`,
    {},
    { authorization: `Bearer ${await token('read')}` },
  );
  assert.equal(open.status, 200);
  assert.equal(open.body.subject, 'ann');
  const admin = await post(
    `${fleet.url}/secure/Vault/Admin`,
    {},
    { authorization: `Bearer ${await token('read')}` },
  );
  assert.equal(admin.status, 403);
  const bad = await post(
    `${fleet.url}/secure/Vault/Open`,
    {},
    { authorization: 'Bearer not.a.jwt' },
  );
  assert.equal(bad.status, 401);

  const refused = await post(`${fleet.url}/echo/Echo/Guarded`, {});
  assert.equal(refused.status, 401);
  assert.equal(refused.body.id, 'go.micro.gateway');
  // Admitted: the metadata the hook adds reaches the handler.
  const admitted = await post(`${fleet.url}/echo/Echo/Guarded`, {}, { 'x-api-key': 'let-me-in' });
  assert.equal(admitted.status, 200);
  assert.equal((admitted.body.metadata as Record<string, string>)['x-gateway-user'], 'key-holder');
});
