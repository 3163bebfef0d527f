// How big a registry entry Consul and etcd take (`npm run build:test && node
// .build/bench/registry-limits.js`): the measurements behind DEFAULTS.registrySchemaMaxBytes and
// the numbers in docs/contracts.md. Starts its own Consul agent and etcd (test/helpers/servers.ts),
// on loopback. Not a test: it prints what it measured.
import { Etcd3 } from 'etcd3';
import { z } from 'zod';
import { jsonSchemaOf } from '../src/contract/json-schema.js';
import { endpointTypes } from '../src/contract/describe.js';
import { DEFAULTS } from '../src/defaults.js';
import { encodeTags } from '../src/registry/consul/encoding.js';
import { REQUEST_SCHEMA_KEY, RESPONSE_SCHEMA_KEY } from '../src/registry/endpoint-schemas.js';
import type { Endpoint } from '../src/registry/registry.js';
import { startConsul, startEtcd } from '../test/helpers/servers.js';
import { schemaOfSize } from '../test/contract/registry-fixture.js';

const MiB = 1024 * 1024;

/** Does Consul keep one `e-` tag of `chars` characters, whole? */
async function consulTakesTag(address: string, chars: number): Promise<boolean | string> {
  const tag = `e-${'a'.repeat(chars - 2)}`;
  const res = await fetch(`http://${address}/v1/agent/service/register`, {
    method: 'PUT',
    body: JSON.stringify({ ID: 'limits-1', Name: 'limits', Tags: [tag], Port: 1 }),
  });
  if (!res.ok) return `HTTP ${res.status}: ${(await res.text()).slice(0, 120)}`;
  const entries = (await (await fetch(`http://${address}/v1/health/service/limits`)).json()) as {
    Service: { Tags: string[] };
  }[];
  await fetch(`http://${address}/v1/agent/service/deregister/limits-1`, { method: 'PUT' });
  return entries[0]?.Service.Tags[0] === tag;
}

/** Does etcd take one value of `bytes` bytes? A fresh client each time: a refusal opens its breaker. */
async function etcdTakesValue(address: string, bytes: number): Promise<boolean> {
  const c = new Etcd3({ hosts: address });
  try {
    await c.put('/limits/x').value('a'.repeat(bytes));
    return (await c.get('/limits/x').string())?.length === bytes;
  } catch {
    return false;
  } finally {
    c.close();
  }
}

async function largest(
  lo: number,
  hi: number,
  ok: (n: number) => Promise<boolean>,
): Promise<number> {
  // lo is known good, hi known bad.
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await ok(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** The `e-` tag of an endpoint and its JSON in an etcd value, in bytes. */
function sizes(e: Endpoint): { tag: number; json: number } {
  const [tag] = encodeTags({}, [e], '');
  return { tag: tag.length, json: Buffer.byteLength(JSON.stringify(e)) };
}

function typicalEndpoint(name: string, request: z.ZodType, response: z.ZodType): Endpoint {
  const t = endpointTypes(name.split('.')[1], { request, response });
  const metadata: Record<string, string> = {};
  if (t.requestSchema) metadata[REQUEST_SCHEMA_KEY] = JSON.stringify(t.requestSchema);
  if (t.responseSchema) metadata[RESPONSE_SCHEMA_KEY] = JSON.stringify(t.responseSchema);
  return { name, request: t.request, response: t.response, metadata };
}

const consul = await startConsul();
const etcd = await startEtcd();
try {
  // Consul: doubling up to 16 MiB (it took 20 MB by hand; past 1 MiB it logs "Attempting to
  // apply large raft entry", hashicorp/consul agent/consul/rpc.go raftWarnSize).
  let consulMax = 0;
  let consulRefusal = 'none up to 16 MiB';
  for (let n = 1024; n <= 16 * MiB; n *= 2) {
    const r = await consulTakesTag(consul.address, n);
    if (r === true) consulMax = n;
    else {
      consulRefusal = `${n} chars: ${String(r)}`;
      break;
    }
  }
  console.log(
    `consul: one e- tag of ${consulMax} chars registers and reads back whole; refused: ${consulRefusal}`,
  );

  const etcdMax = await largest(1024, 4 * MiB, (n) => etcdTakesValue(etcd.address, n));
  console.log(
    `etcd: the largest value one put takes is ${etcdMax} bytes (--max-request-bytes 1.5 MiB = ${1.5 * MiB})`,
  );

  // One range read (getService of a service, listServices of all) is one gRPC message, which the
  // client takes up to grpc-js's 4 MiB.
  const c = new Etcd3({ hosts: etcd.address });
  try {
    for (let i = 0; i < 3; i++) await c.put(`/limits/range/${i}`).value('b'.repeat(1.4 * MiB));
    const read = await c
      .getAll()
      .prefix('/limits/range/')
      .strings()
      .then((all) => `${Object.keys(all).length} keys read`)
      .catch((err: Error) => err.message);
    console.log(`etcd: a range read of 3 values of 1.4 MiB: ${read}`);
  } finally {
    c.close();
  }

  // The largest node: endpoints with both schemas at the limit, as the server publishes them.
  const full: Endpoint = {
    name: 'Big.M0',
    metadata: {
      [REQUEST_SCHEMA_KEY]: JSON.stringify(schemaOfSize(DEFAULTS.registrySchemaMaxBytes)),
      [RESPONSE_SCHEMA_KEY]: JSON.stringify(schemaOfSize(DEFAULTS.registrySchemaMaxBytes)),
    },
  };
  const f = sizes(full);
  console.log(
    `an endpoint with both schemas at the limit (${DEFAULTS.registrySchemaMaxBytes} B): e- tag ${f.tag} chars, etcd JSON ${f.json} B; ` +
      `etcd takes ${Math.floor(etcdMax / f.json)} such endpoints per node, 64 of them are ${((64 * f.tag) / MiB).toFixed(2)} MiB of Consul tags`,
  );

  const Address = z.object({ street: z.string(), city: z.string(), zip: z.string() });
  const typical: [string, z.ZodType, z.ZodType][] = [
    ['Greeter.Hello', z.object({ name: z.string() }), z.object({ msg: z.string() })],
    [
      'Users.Create',
      z.object({
        name: z.string().min(1),
        email: z.email(),
        age: z.int().min(0).optional(),
        roles: z.array(z.enum(['admin', 'user', 'guest'])),
        address: Address,
        tags: z.record(z.string(), z.string()),
        active: z.boolean(),
        notes: z.string().max(500).nullable(),
      }),
      z.object({ id: z.uuid(), createdAt: z.iso.datetime() }),
    ],
    [
      'Orders.Place',
      z.object({
        customer: z.object({ id: z.string(), name: z.string(), address: Address }),
        lines: z.array(z.object({ sku: z.string(), qty: z.int().min(1), price: z.number() })),
        shipping: Address,
        billing: Address.optional(),
        coupon: z.string().optional(),
        priority: z.enum(['normal', 'express']),
      }),
      z.object({ orderId: z.string(), total: z.number(), eta: z.string() }),
    ],
  ];
  for (const [name, req, res] of typical) {
    const e = typicalEndpoint(name, req, res);
    const s = sizes(e);
    console.log(
      `${name}: request schema ${jsonBytes(req)} B, response schema ${jsonBytes(res)} B; e- tag ${s.tag} chars; etcd JSON ${s.json} B`,
    );
  }
  // The widest flat object under the limit.
  const fields = await largest(1, 400, async (n) => {
    const s = z.object(
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`field_${i}`, z.string()])),
    );
    return jsonBytes(s) <= DEFAULTS.registrySchemaMaxBytes;
  });
  console.log(`a flat object of up to ${fields} string fields (field_N) fits the limit`);
} finally {
  await consul[Symbol.asyncDispose]();
  await etcd[Symbol.asyncDispose]();
}

function jsonBytes(schema: z.ZodType): number {
  return Buffer.byteLength(JSON.stringify(jsonSchemaOf(schema).schema));
}
