import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import {
  clientFor,
  createService,
  defineService,
  defineTopic,
  implement,
  ofType,
  type ServiceContract,
} from '../../src/index.js';
import { formatIssues } from '../../src/contract/issues.js';
import { refuses } from '../helpers/options.js';

const ok = { request: z.object({}), response: z.object({}) };

test('a malformed contract fails where it is defined, naming the part', () => {
  refuses(() => defineService('bad name', { G: { M: ok } }), 'defineService.name');
  refuses(() => defineService('svc', {}), 'defineService.handlers');
  refuses(
    () => defineService('svc', { 'not-an-id': { M: ok } }),
    'defineService.handlers.not-an-id',
  );
  refuses(() => defineService('svc', { G: {} }), 'defineService.handlers.G');
  const noRequest = { response: z.object({}) } as unknown as typeof ok;
  refuses(
    () => defineService('svc', { G: { M: noRequest } }),
    'defineService.handlers.G.M.request',
  );
  const plainObject = {
    request: { type: 'object' },
    response: z.object({}),
  } as unknown as typeof ok;
  refuses(
    () => defineService('svc', { G: { M: plainObject } }),
    'defineService.handlers.G.M.request',
  );
  const badStream = { ...ok, stream: 'both' } as unknown as typeof ok;
  refuses(() => defineService('svc', { G: { M: badStream } }), 'defineService.handlers.G.M.stream');
  const badFlag = { ...ok, idempotent: 'yes' } as unknown as typeof ok;
  refuses(
    () => defineService('svc', { G: { M: badFlag } }),
    'defineService.handlers.G.M.idempotent',
  );
  refuses(() => defineTopic('', ofType<string>()), 'defineTopic.topic');
  refuses(() => defineTopic('t', {} as ReturnType<typeof ofType>), 'defineTopic.event');
});

test('implement names a missing method and registers nothing; clientFor refuses what is not a contract', async () => {
  const C = defineService('svc', { G: { A: ok, B: ok } });
  await using service = createService({ name: 'svc' });
  const partial = { G: { A: () => ({}) } } as unknown as Parameters<typeof implement<typeof C>>[2];
  refuses(() => implement(service, C, partial), 'implement.handlers.G.B');
  assert.deepEqual(service.server.node, undefined);
  refuses(
    () => clientFor({ kind: 'topic' } as unknown as ServiceContract, service.client),
    'clientFor.contract',
  );
  refuses(() => clientFor(C, service.client, { name: 'a b' }), 'clientFor.name');
});

test('issues read as field path and reason', () => {
  assert.equal(
    formatIssues([
      { message: 'expected string, received number', path: ['name'] },
      { message: 'too long', path: ['profile', { key: 'tags' }, 1] },
      { message: 'expected an object' },
    ]),
    'name: expected string, received number; profile.tags[1]: too long; expected an object',
  );
});
