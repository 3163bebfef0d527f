import { test } from 'node:test';
import assert from 'node:assert/strict';
import { methodPath } from '../../../src/transport/grpc/grpc.js';
import { parseMethodPath } from '../../../src/transport/grpc/server.js';

test('client paths follow go-micro methodToGRPC', () => {
  assert.equal(methodPath('helloworld', 'Greeter.Hello'), '/helloworld.Greeter/Hello');
  assert.equal(
    methodPath('go.micro.srv.greeter', 'Greeter.Hello'),
    '/go.micro.srv.greeter.Greeter/Hello',
  );
  assert.equal(methodPath('', 'Greeter.Hello'), '/Greeter/Hello');
  assert.equal(
    methodPath('svc', '/pkg.Greeter/Hello'),
    '/pkg.Greeter/Hello',
    'a full path is used verbatim',
  );
  assert.equal(methodPath('svc', 'a.b.c'), 'a.b.c', 'not exactly two parts: verbatim');
  assert.equal(methodPath('svc', ''), '');
});

test('server paths dispatch on the last dot segment of the service part', () => {
  assert.deepEqual(parseMethodPath('/anything.at.all.Greeter/Hello'), {
    service: 'anything.at.all',
    endpoint: 'Greeter.Hello',
  });
  assert.deepEqual(parseMethodPath('/Greeter/Hello'), { service: '', endpoint: 'Greeter.Hello' });
  for (const bad of [
    '',
    '/',
    'Greeter/Hello',
    '/Greeter',
    '/Greeter/',
    '//Hello',
    '/a/b/c',
    '/pkg./Hello',
  ]) {
    assert.equal(parseMethodPath(bad), undefined, JSON.stringify(bad));
  }
});

test('a round trip through both mappings lands on the same endpoint', () => {
  for (const service of ['', 'echo', 'go.micro.srv.echo']) {
    assert.equal(parseMethodPath(methodPath(service, 'Echo.Say'))?.endpoint, 'Echo.Say');
  }
});
