import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { nkeys as untypedNkeys } from 'nats';
import { InvalidOptionError, MicroError } from '../../../src/index.js';
import { natsBroker, type NatsBrokerOptions } from '../../../src/broker/nats/nats.js';
import { natsSkipReason, startNatsServer, type NatsServer } from '../../helpers/nats.js';

// nats types its nkeys module as any; what these tests use of it.
const nkeys = untypedNkeys as {
  createUser(): { getSeed(): Uint8Array; getPublicKey(): string };
};
const skip = natsSkipReason();
const quiet = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return quiet;
  },
};

// NATS credentials against real nats-servers with authorization on: user/password, token and NKey.
describe('NATS broker credentials (real nats-server with auth)', { skip }, () => {
  const user = nkeys.createUser();
  const seed = new TextDecoder().decode(user.getSeed());
  let passServer: NatsServer;
  let tokenServer: NatsServer;
  let nkeyServer: NatsServer;
  before(async () => {
    passServer = await startNatsServer({ args: ['--user', 'svc', '--pass', 's3cret-pass'] });
    tokenServer = await startNatsServer({ args: ['--auth', 's3cret-token'] });
    nkeyServer = await startNatsServer({
      config: `authorization { users = [ { nkey: "${user.getPublicKey()}" } ] }\n`,
    });
  });
  after(async () => {
    await passServer?.[Symbol.asyncDispose]();
    await tokenServer?.[Symbol.asyncDispose]();
    await nkeyServer?.[Symbol.asyncDispose]();
  });

  /** Publishes one message to itself through a broker made with `opts`; resolves with its body. */
  async function roundTrip(opts: NatsBrokerOptions): Promise<string> {
    const broker = natsBroker({ ...opts, connectTimeoutMs: 5_000, logger: quiet });
    try {
      let got!: (s: string) => void;
      const received = new Promise<string>((r) => {
        got = r;
      });
      await broker.subscribe('auth.check', async (m) => got(new TextDecoder().decode(m.body)));
      await broker.publish('auth.check', { header: {}, body: new TextEncoder().encode('hello') });
      return await received;
    } finally {
      await broker.disconnect();
    }
  }

  async function refused(opts: NatsBrokerOptions): Promise<MicroError> {
    const broker = natsBroker({ ...opts, connectTimeoutMs: 5_000, logger: quiet });
    try {
      await broker.connect();
    } catch (err) {
      assert.ok(MicroError.is(err), String(err));
      return err;
    } finally {
      await broker.disconnect();
    }
    assert.fail('connected without valid credentials');
  }

  test('user and password: the right ones connect; wrong or none are refused with 401', async () => {
    assert.equal(
      await roundTrip({ servers: passServer.url, auth: { user: 'svc', pass: 's3cret-pass' } }),
      'hello',
    );
    for (const opts of [
      { servers: passServer.url, auth: { user: 'svc', pass: 'wrong' } },
      { servers: passServer.url },
    ]) {
      const err = await refused(opts);
      assert.equal(err.code, 401, err.detail);
      assert.equal(err.id, 'tsmicro.broker');
    }
  });

  test('token: the right one connects, a wrong one is refused with 401', async () => {
    assert.equal(
      await roundTrip({ servers: tokenServer.url, auth: { token: 's3cret-token' } }),
      'hello',
    );
    assert.equal((await refused({ servers: tokenServer.url, auth: { token: 'nope' } })).code, 401);
  });

  test("NKey: the user's seed connects, another user's seed is refused with 401", async () => {
    assert.equal(await roundTrip({ servers: nkeyServer.url, auth: { nkeySeed: seed } }), 'hello');
    const other = new TextDecoder().decode(nkeys.createUser().getSeed());
    assert.equal((await refused({ servers: nkeyServer.url, auth: { nkeySeed: other } })).code, 401);
  });
});

test('bad NATS credentials options are InvalidOptionErrors', () => {
  const bad = [
    { user: 'a' },
    { token: '' },
    { nkeySeed: 'not-a-seed' },
    { token: 'x', user: 'a', pass: 'b' },
    'token',
  ];
  for (const auth of bad)
    assert.throws(
      () => natsBroker({ auth: auth as NatsBrokerOptions['auth'] }),
      InvalidOptionError,
      JSON.stringify(auth),
    );
});
