import { test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  CallWrapper,
  ClientWrapper,
  HandlerWrapper,
  SubscriberWrapper,
} from '../../src/index.js';
import { cluster } from '../helpers/services.js';
import { refusedAddress, until } from './support.js';

// Recording wrappers: each logs `name>` on the way in and `name<` on the way out.
function recorders(events: string[]): {
  client: (n: string) => ClientWrapper;
  call: (n: string) => CallWrapper;
  handler: (n: string) => HandlerWrapper;
  subscriber: (n: string) => SubscriberWrapper;
} {
  const around = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    events.push(`${name}>`);
    try {
      return await fn();
    } finally {
      events.push(`${name}<`);
    }
  };
  return {
    client: (n) => (next) => ({
      call: (s, e, r, o) => around(n, () => next.call(s, e, r, o)),
      stream: (s, e, o) => next.stream(s, e, o),
      publish: (t, m, o) => around(n, () => next.publish(t, m, o)),
    }),
    call: (n) => (next) => (ctx, node, req, o) =>
      around(`${n}@${node.address === dead ? 'dead' : 'live'}`, () => next(ctx, node, req, o)),
    handler: (n) => (next) => (req, ctx) => around(n, () => next(req, ctx)),
    subscriber: (n) => (next) => (msg, ctx) =>
      around(n, () => next(msg, ctx)).finally(() => onEvent()),
  };
}
let dead = '';
let onEvent = (): void => {};

test('first listed is outermost; client wrappers run once per call, call wrappers once per attempt', async () => {
  dead = await refusedAddress();
  const events: string[] = [];
  const r = recorders(events);
  const c = cluster();
  try {
    const server = c.service({
      name: 'srv',
      wrapHandler: [r.handler('h1'), r.handler('h2')],
      wrapSubscriber: [r.subscriber('s1'), r.subscriber('s2')],
    });
    server.handle('Srv', {
      async Hi() {
        events.push('handler');
        return {};
      },
    });
    server.subscribe('topic', async () => {
      events.push('subscriber');
    });
    await server.start();
    const client = c.service({
      name: 'cli',
      wrapClient: [r.client('c1'), r.client('c2')],
      wrapCall: [r.call('a1'), r.call('a2')],
    }).client;

    // The first address refuses: one call, two attempts.
    await client.call(
      'srv',
      'Srv.Hi',
      {},
      { address: [dead, server.server.node!.address], retries: 1 },
    );
    assert.deepEqual(events, [
      'c1>',
      'c2>',
      'a1@dead>',
      'a2@dead>',
      'a2@dead<',
      'a1@dead<',
      'a1@live>',
      'a2@live>',
      'h1>',
      'h2>',
      'handler',
      'h2<',
      'h1<',
      'a2@live<',
      'a1@live<',
      'c2<',
      'c1<',
    ]);

    // Delivery runs beside the publish, so compare each side's own sequence.
    events.length = 0;
    const done = until(
      () => events.includes('s1<'),
      (check) => {
        onEvent = check;
      },
    );
    await client.publish('topic', {});
    await done;
    assert.deepEqual(
      events.filter((e) => e.startsWith('c')),
      ['c1>', 'c2>', 'c2<', 'c1<'],
    );
    assert.deepEqual(
      events.filter((e) => !e.startsWith('c')),
      ['s1>', 's2>', 'subscriber', 's2<', 's1<'],
    );
  } finally {
    await c.stopAll();
  }
});
