import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createService, MicroError, type Service } from '../../../src/index.js';
import { consulRegistry } from '../../../src/registry/consul/consul.js';
import { skipReason, startConsul, type RealServer } from '../../helpers/servers.js';

const skip = await skipReason('consul');

// Hostile entries registered straight through Consul's HTTP API next to one real node: bad tags
// are ignored, unusable addresses skipped with a log line, and calls keep reaching the real node.
// Then ACLs: with default-deny, only a registry given the right token can register and look up.
describe('consul: hostile entries and ACL tokens (real agent)', { skip }, () => {
  let consul: RealServer;
  let acl: RealServer;
  const services: Service[] = [];
  before(async () => {
    consul = await startConsul();
    acl = await startConsul({
      hcl: 'acl { enabled = true\n default_policy = "deny"\n tokens { initial_management = "root-token-for-tests" } }',
      token: 'root-token-for-tests',
    });
  });
  after(async () => {
    await Promise.allSettled(services.map((s) => s.stop()));
    await consul?.[Symbol.asyncDispose]();
    await acl?.[Symbol.asyncDispose]();
  });

  async function rawRegister(
    server: RealServer,
    body: Record<string, unknown>,
    token?: string,
  ): Promise<number> {
    const res = await fetch(`http://${server.address}/v1/agent/service/register`, {
      method: 'PUT',
      body: JSON.stringify(body),
      headers: token ? { 'X-Consul-Token': token } : {},
    });
    await res.text();
    return res.status;
  }

  test('bad tags, absurd ports and addresses: skipped with a log line, the real node keeps answering', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(c: Buffer, _e, done) {
          for (const l of c.toString().split('\n'))
            if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
          done();
        },
      }),
    );
    const server = createService({
      name: 'greeter',
      registry: consulRegistry({ address: consul.address }),
      logger: pino({ level: 'silent' }),
    });
    server.handle('Greeter', {
      async Hello(req: { name: string }) {
        return { msg: `Hello ${req.name}` };
      },
    });
    services.push(server);
    await server.start();
    const [host, port] = [
      server.server.node!.address.split(':')[0],
      Number(server.server.node!.address.split(':')[1]),
    ];
    const accepted: string[] = [];
    const hostile: [string, Record<string, unknown>][] = [
      [
        'bad-tags',
        {
          Address: host,
          Port: port,
          Tags: [
            't-zz',
            't-0',
            'e-nothex',
            'v-00',
            't={bad json',
            'e={"name":5}',
            'e=[]',
            't=[1,2]',
            'x',
            '',
          ],
        },
      ],
      ['port-zero', { Address: host, Port: 0 }],
      ['port-huge', { Address: host, Port: 99_999 }],
      ['port-negative', { Address: host, Port: -1 }],
      ['address-spaces', { Address: 'not an address', Port: 80 }],
      ['address-url', { Address: 'http://127.0.0.1:1/', Port: 80 }],
    ];
    for (const [id, body] of hostile) {
      if ((await rawRegister(consul, { ID: id, Name: 'greeter', ...body })) === 200)
        accepted.push(id);
    }
    console.log(`Consul accepted the hostile registrations: ${accepted.join(', ')}`);
    assert.ok(
      accepted.includes('bad-tags') &&
        accepted.includes('port-zero') &&
        accepted.includes('address-spaces'),
      `Consul accepted ${accepted.join(', ')}`,
    );
    const caller = createService({
      name: 'caller',
      registry: consulRegistry({ address: consul.address }),
      logger,
    });
    services.push(caller);
    for (let i = 0; i < 40; i++) {
      const rsp = await caller.client.call(
        'greeter',
        'Greeter.Hello',
        { name: `n${i}` },
        { retries: 3 },
      );
      assert.deepEqual(rsp, { msg: `Hello n${i}` });
    }
    const skipped = lines.filter((l) => l.msg === 'registry entry skipped').map((l) => l.node);
    for (const id of accepted.filter((a) => a !== 'bad-tags'))
      assert.ok(skipped.includes(id), `${id} not logged as skipped: ${JSON.stringify(lines)}`);
    assert.ok(
      !skipped.includes('bad-tags'),
      'a node with bad tags but a good address is used, its bad tags ignored',
    );
  });

  test('ACL token: registering and looking up work with the token, and fail typed without it', async () => {
    const token = 'root-token-for-tests';
    const withToken = createService({
      name: 'secured',
      registry: consulRegistry({ address: acl.address, token }),
      logger: pino({ level: 'silent' }),
    });
    withToken.handle('Greeter', {
      async Hello() {
        return { ok: true };
      },
    });
    services.push(withToken);
    await withToken.start();
    const caller = createService({
      name: 'caller',
      registry: consulRegistry({ address: acl.address, token }),
      logger: pino({ level: 'silent' }),
    });
    services.push(caller);
    assert.deepEqual(await caller.client.call('secured', 'Greeter.Hello', {}), { ok: true });

    // Without a token, default-deny hides the service and refuses registration.
    const anonymous = consulRegistry({ address: acl.address });
    try {
      assert.deepEqual(
        await anonymous.getService('secured').catch((err: unknown) => {
          assert.ok(MicroError.is(err), String(err));
          return [];
        }),
        [],
      );
      await assert.rejects(
        anonymous.register(
          {
            name: 'intruder',
            version: '',
            endpoints: [],
            nodes: [{ id: 'intruder-1', address: '127.0.0.1:1', metadata: {} }],
          },
          { ttlMs: 30_000 },
        ),
        (err: unknown) =>
          MicroError.is(err) && /403|ACL|Permission denied/i.test(`${err.code} ${err.detail}`),
      );
    } finally {
      await anonymous.close();
    }
    // A wrong token is refused the same way.
    const wrong = consulRegistry({ address: acl.address, token: 'not-the-token' });
    try {
      await assert.rejects(
        wrong.register(
          {
            name: 'intruder',
            version: '',
            endpoints: [],
            nodes: [{ id: 'intruder-2', address: '127.0.0.1:1', metadata: {} }],
          },
          { ttlMs: 30_000 },
        ),
        (err: unknown) => MicroError.is(err),
      );
    } finally {
      await wrong.close();
    }
  });
});
