import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MicroError, codeFromGrpcStatus, grpcStatusFromCode } from '../src/errors.js';

test('MicroError serialises go-micro JSON with empty fields omitted', () => {
  const err = MicroError.notFound('greeter', 'no such user');
  assert.deepEqual(JSON.parse(JSON.stringify(err)), {
    id: 'greeter',
    code: 404,
    detail: 'no such user',
    status: 'Not Found',
  });
  assert.deepEqual(new MicroError('', 500, '').toJSON(), {
    code: 500,
    status: 'Internal Server Error',
  });
});

test('fromJSON round-trips the four fields and keeps unknown text as a 500', () => {
  const back = MicroError.fromJSON(
    JSON.stringify(MicroError.tooManyRequests('go.micro.client', 'slow down')),
  );
  assert.equal(back.id, 'go.micro.client');
  assert.equal(back.code, 429);
  assert.equal(back.detail, 'slow down');
  assert.equal(back.status, 'Too Many Requests');
  const raw = MicroError.fromJSON('connection reset by peer', 'go.micro.client');
  assert.equal(raw.code, 500);
  assert.equal(raw.detail, 'connection reset by peer');
  assert.equal(
    MicroError.fromJSON('{"code":0,"detail":"x"}').code,
    500,
    'a code of 0 is no go-micro error',
  );
});

test('is() recognises errors from another copy of the package by brand, not class', () => {
  const foreign = Object.defineProperty(new Error('x'), Symbol.for('tsmicro.error'), {
    value: true,
  });
  Object.assign(foreign, { code: 503 });
  assert.equal(MicroError.is(foreign), true);
  assert.equal(MicroError.is(foreign, 503), true);
  assert.equal(MicroError.is(foreign, 500), false);
  assert.equal(foreign instanceof MicroError, true);
  assert.equal(MicroError.is(new Error('plain')), false);
});

test('from() keeps MicroErrors and turns other throwables into 500s under the given id', () => {
  const own = MicroError.conflict('users', 'exists');
  assert.equal(MicroError.from(own, 'other'), own);
  const wrapped = MicroError.from(new Error('disk full'), 'users');
  assert.deepEqual(wrapped.toJSON(), {
    id: 'users',
    code: 500,
    detail: 'disk full',
    status: 'Internal Server Error',
  });
  assert.equal(MicroError.from('boom', 'users').detail, 'boom');
});

test('gRPC status mapping follows go-micro server/grpc/error.go both ways', () => {
  const table: [number, number][] = [
    [400, 3],
    [401, 16],
    [403, 7],
    [404, 5],
    [408, 4],
    [409, 6],
    [412, 9],
    [500, 13],
    [501, 12],
    [503, 14],
    [418, 2],
  ];
  for (const [http, grpc] of table) assert.equal(grpcStatusFromCode(http), grpc, `HTTP ${http}`);
  for (const [http, grpc] of table.slice(0, -1))
    assert.equal(codeFromGrpcStatus(grpc), http, `gRPC ${grpc}`);
  assert.equal(codeFromGrpcStatus(2), 500);
});
