import { test } from 'node:test';
import { z } from 'zod';
import {
  createService,
  defineService,
  memoryBroker,
  memoryRegistry,
  memoryTransport,
  type Client,
} from '../../src/index.js';
import { createGateway, type GatewayOptions } from '../../src/gateway/index.js';
import { refuses } from '../helpers/options.js';

// Never started: the gateway only needs a client to hold.
const client: Client = createService({
  name: 'options-test',
  registry: memoryRegistry(),
  transport: memoryTransport(),
  broker: memoryBroker(),
}).client;

test('createGateway refuses a bad option at once, naming it', () => {
  const bad = (opts: Record<string, unknown>) => () => createGateway({ client, ...opts });
  refuses(() => createGateway({} as GatewayOptions), 'client');
  refuses(bad({ address: 'nowhere' }), 'address');
  refuses(bad({ services: 'echo' }), 'services');
  refuses(bad({ services: ['a b'] }), 'services[0]');
  refuses(bad({ contracts: [{}] }), 'contracts[0]');
  refuses(bad({ defaults: { timeoutMs: 0 } }), 'defaults.timeoutMs');
  refuses(bad({ routes: { echo: { cors: { origins: 'http://x' } } } }), 'routes.echo.cors.origins');
  refuses(
    bad({ routes: { echo: { rateLimit: { windowMs: 1000 } } } }),
    'routes.echo.rateLimit.points',
  );
  refuses(bad({ routes: { 'echo/E.C': { authorize: 'yes' } } }), 'routes.echo/E.C.authorize');
  refuses(bad({ limits: { bodyBytes: -1 } }), 'limits.bodyBytes');
  refuses(bad({ forwardHeaders: [''] }), 'forwardHeaders[0]');
  refuses(bad({ trustProxy: '10.0.0.1' }), 'trustProxy');
});

test('two contracts claiming one HTTP route are refused, naming the endpoint', () => {
  const mk = (name: string) =>
    defineService(name, {
      A: {
        B: {
          request: z.object({}),
          response: z.object({}),
          http: { method: 'GET', path: '/same' },
        },
      },
    });
  refuses(
    () => createGateway({ client, contracts: [mk('one'), mk('two')] }),
    'contracts.two.A.B.http',
  );
});

test('defineService refuses a malformed http route, naming it', () => {
  const def = (http: unknown) => () =>
    defineService('s', {
      H: { M: { request: z.object({}), response: z.object({}), http } as never },
    });
  refuses(def({ method: 'FETCH', path: '/x' }), 'defineService.handlers.H.M.http.method');
  refuses(def({ method: 'GET', path: 'x' }), 'defineService.handlers.H.M.http.path');
  refuses(def({ method: 'GET', path: '/x/*' }), 'defineService.handlers.H.M.http.path');
  refuses(def('GET /x'), 'defineService.handlers.H.M.http');
});
