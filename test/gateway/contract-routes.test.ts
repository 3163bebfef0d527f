import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { get, post, startFleet } from './fleet.js';

test('contract routes: path, query and body merged into the request and validated before the call', async () => {
  await using fleet = await startFleet();
  const one = await get(`${fleet.url}/users/u7?verbose=yes`);
  assert.equal(one.status, 200, JSON.stringify(one.body));
  assert.equal(one.body.id, 'u7');
  assert.equal(one.body.name, 'user u7');

  const badId = await get(`${fleet.url}/users/seven`);
  assert.equal(badId.status, 400);
  // Validated by the gateway (its id), with the contract's detail format: endpoint, field path.
  assert.equal(badId.body.id, 'go.micro.gateway');
  assert.match(String(badId.body.detail), /^invalid request to Users\.Get: id: /);
  const badQuery = await get(`${fleet.url}/users/u7?verbose=maybe`);
  assert.equal(badQuery.status, 400);
  assert.match(String(badQuery.body.detail), /verbose: /);

  const created = await post(`${fleet.url}/users`, { name: 'Ann', age: 30 });
  assert.equal(created.status, 200);
  assert.deepEqual(created.body, { id: 'u3', name: 'Ann', age: 30 });
  const invalid = await post(`${fleet.url}/users`, { name: '', age: -1 });
  assert.equal(invalid.status, 400);
  assert.match(String(invalid.body.detail), /name: .*; age: |age: .*; name: /);
  const notObject = await post(`${fleet.url}/users`, [1, 2]);
  assert.equal(notObject.status, 400);

  // go-micro's route to a contract endpoint is validated the same way.
  const viaRpc = await post(`${fleet.url}/users/Users/Create`, { name: 'Bo' });
  assert.equal(viaRpc.status, 400);
  assert.equal(viaRpc.body.id, 'go.micro.gateway');
  assert.match(String(viaRpc.body.detail), /^invalid request to Users\.Create: age: /);
  const ok = await post(`${fleet.url}/users/Users/Create`, { name: 'Bo', age: 2 });
  assert.equal(ok.status, 200);
});

test('/openapi.json is a valid OpenAPI 3.1 document of the exposed endpoints', async () => {
  await using fleet = await startFleet();
  const res = await fetch(`${fleet.url}/openapi.json`);
  assert.equal(res.status, 200);
  const doc = (await res.json()) as {
    openapi: string;
    paths: Record<string, Record<string, Record<string, unknown>>>;
  };
  const validator = new Validator();
  const result = await validator.validate(doc);
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
  assert.equal(validator.version, '3.1');

  const getUser = doc.paths['/users/{id}']?.get as {
    parameters: { name: string; in: string; required: boolean }[];
  };
  assert.ok(getUser, 'the contract route is documented');
  assert.deepEqual(
    getUser.parameters.map((p) => [p.name, p.in, p.required]),
    [
      ['id', 'path', true],
      ['verbose', 'query', false],
    ],
  );
  const create = doc.paths['/users']?.post as {
    requestBody: { content: { 'application/json': { schema: { required?: string[] } } } };
  };
  assert.deepEqual(create.requestBody.content['application/json'].schema.required?.sort(), [
    'age',
    'name',
  ]);
  assert.ok(doc.paths['/users/Users/Get']?.post, "go-micro's route of a contract endpoint");
  // Registered endpoints without a schema: an open body.
  const call = doc.paths['/echo/Echo/Call']?.post as {
    requestBody: { content: { 'application/json': { schema: unknown } } };
  };
  assert.deepEqual(call.requestBody.content['application/json'].schema, {});
  assert.ok(doc.paths['/secure/Vault/Open']?.post);
  assert.ok(doc.paths['/rpc']?.post);
  // Nothing that is not exposed.
  assert.ok(!Object.keys(doc.paths).some((p) => p.startsWith('/gateway-test')));
});
