// An HTTP gateway in front of a typed service: `node main.js`. The `todos` contract names an HTTP
// route per endpoint; the gateway serves them (and go-micro's `POST /{service}/{Handler}/{Method}`),
// validates each request with the contract's schema before calling, maps errors to HTTP statuses
// and documents everything at /openapi.json. Any HTTP client can call it; here, fetch.
import { z } from 'zod';
import { createService, defineService, implement, localRegistry, MicroError } from 'tsmicro';
import { createGateway } from 'tsmicro/gateway';

const Todos = defineService('todos', {
  Todos: {
    Add: {
      request: z.object({ title: z.string().min(1) }),
      response: z.object({ id: z.string(), title: z.string() }),
      http: { method: 'POST', path: '/todos' },
    },
    Get: {
      request: z.object({ id: z.string() }),
      response: z.object({ id: z.string(), title: z.string() }),
      idempotent: true,
      http: { method: 'GET', path: '/todos/:id' },
    },
  },
});

const registry = localRegistry();
const service = createService({ name: 'todos', registry, handleSignals: false });
const store = new Map<string, string>();
implement(service, Todos, {
  Todos: {
    Add: async ({ title }) => {
      const id = String(store.size + 1);
      store.set(id, title);
      return { id, title };
    },
    Get: async ({ id }) => {
      const title = store.get(id);
      if (title === undefined) throw MicroError.notFound('todos', `no todo ${id}`);
      return { id, title };
    },
  },
});
await service.start();

const gateway = createGateway({
  client: service.client,
  registry,
  contracts: [Todos],
  address: '127.0.0.1:0',
  routes: { todos: { cors: { origins: ['http://localhost:3000'] } } },
});
const base = `http://${await gateway.listen()}`;
console.log(`gateway listening on ${base}`);

const show = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${base}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  console.log(`${method} ${path} -> ${res.status} ${JSON.stringify(await res.json())}`);
};
await show('POST', '/todos', { title: 'write the docs' });
await show('GET', '/todos/1');
await show('GET', '/todos/9');
await show('POST', '/todos', { title: '' });
await show('POST', '/todos/Todos/Get', { id: '1' });
const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: object };
console.log(`openapi paths: ${Object.keys(doc.paths).sort().join(' ')}`);

await gateway.close();
await service.stop();
await registry.close();
