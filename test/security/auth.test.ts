import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import {
  createService,
  InvalidOptionError,
  localRegistry,
  MicroError,
  type HandlerContext,
  type Registry,
  type Service,
} from '../../src/index.js';
import {
  AUTH_ERROR_ID,
  AUTH_SCOPES_KEY,
  AUTH_SUBJECT_KEY,
  authClient,
  authHandler,
} from '../../src/wrappers/auth.js';
import { quietLogger } from '../helpers/services.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';

// Bearer-JWT auth over real gRPC sockets: the server verifies per endpoint, the client attaches
// the token, and what a handler sees under x-auth-* comes only from a verified token.
const SECRET = 'a-test-secret-of-32-characters!!';
const secretBytes = new TextEncoder().encode(SECRET);
let dir: TempDir;
let registry: Registry;
const services: Service[] = [];

function sign(
  claims: JWTPayload,
  opts: { expiresIn?: string | number; issuer?: string; key?: Uint8Array } = {},
): Promise<string> {
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setIssuer(opts.issuer ?? 'tests');
  jwt = jwt.setExpirationTime(opts.expiresIn ?? '5m');
  return jwt.sign(opts.key ?? secretBytes);
}

function caller(token?: string | (() => Promise<string>)): Service {
  const s = createService({
    name: 'caller',
    registry,
    logger: quietLogger(),
    ...(token ? { wrapClient: [authClient({ token })] } : {}),
  });
  services.push(s);
  return s;
}

async function failure(p: Promise<unknown>): Promise<MicroError> {
  try {
    await p;
  } catch (err) {
    assert.ok(MicroError.is(err), String(err));
    return err;
  }
  assert.fail('the call succeeded');
}

const echo = {
  async Who(_req: unknown, ctx: HandlerContext) {
    return { metadata: ctx.metadata };
  },
};

before(async () => {
  dir = await makeTempDir('auth');
  registry = localRegistry({ dir: dir.path });
  // "audit" has no auth of its own: it echoes the metadata it inherits from a handler's call.
  const audit = createService({ name: 'audit', registry, logger: quietLogger() });
  audit.handle('Audit', echo);
  const accounts = createService({
    name: 'accounts',
    registry,
    logger: quietLogger(),
    wrapHandler: [
      authHandler({
        key: SECRET,
        issuer: 'tests',
        rules: [
          { endpoint: 'Accounts.Health', access: 'public' },
          { endpoint: 'Accounts.Delete', scopes: ['admin'] },
          { endpoint: 'Public.*', access: 'public' },
        ],
      }),
    ],
  });
  accounts.handle('Accounts', {
    async Health() {
      return { ok: true };
    },
    ...echo,
    async Delete() {
      return { deleted: true };
    },
    async Forward(_req: unknown) {
      // The inherited metadata goes downstream: it must be the cleaned one.
      return accounts.client.call('audit', 'Audit.Who', {});
    },
  });
  accounts.handle('Public', echo);
  services.push(audit, accounts);
  await audit.start();
  await accounts.start();
});
after(async () => {
  await Promise.allSettled(services.map((s) => s.stop()));
  await registry.close();
  await dir[Symbol.asyncDispose]();
});

test('no token: public endpoints answer, protected ones refuse with 401', async () => {
  const anon = caller();
  assert.deepEqual(await anon.client.call('accounts', 'Accounts.Health', {}), { ok: true });
  const err = await failure(anon.client.call('accounts', 'Accounts.Who', {}));
  assert.equal(err.code, 401);
  assert.equal(err.id, AUTH_ERROR_ID);
});

test('a valid token gets in, and the handler sees the verified subject and scopes', async () => {
  const c = caller(await sign({ sub: 'ada', scope: 'read write' }));
  const rsp = await c.client.call<{ metadata: Record<string, string> }>(
    'accounts',
    'Accounts.Who',
    {},
  );
  assert.equal(rsp.metadata[AUTH_SUBJECT_KEY], 'ada');
  assert.equal(rsp.metadata[AUTH_SCOPES_KEY], 'read write');
});

test('bad tokens are 401 with the reason: expired, wrong key, wrong issuer, garbage, wrong scheme', async () => {
  const other = new TextEncoder().encode('another-secret-also-32-characters');
  const cases: [string, string, RegExp][] = [
    [
      'expired',
      `Bearer ${await sign({ sub: 'ada' }, { expiresIn: Math.floor(Date.now() / 1000) - 60 })}`,
      /expired/,
    ],
    ['wrong key', `Bearer ${await sign({ sub: 'ada' }, { key: other })}`, /signature/],
    ['wrong issuer', `Bearer ${await sign({ sub: 'ada' }, { issuer: 'evil' })}`, /iss/],
    ['garbage', 'Bearer not.a.jwt', /invalid token/],
    ['basic auth', 'Basic YWRhOnB3', /needs a bearer token/],
  ];
  const anon = caller();
  for (const [what, authorization, why] of cases) {
    const err = await failure(
      anon.client.call('accounts', 'Accounts.Who', {}, { metadata: { authorization } }),
    );
    assert.equal(err.code, 401, what);
    assert.match(err.detail, why, `${what}: ${err.detail}`);
  }
});

test("a valid token without the rule's scope is 403; with it, the call goes through", async () => {
  const reader = caller(await sign({ sub: 'bob', scope: 'read' }));
  const err = await failure(reader.client.call('accounts', 'Accounts.Delete', {}));
  assert.equal(err.code, 403);
  assert.match(err.detail, /admin/);
  const admin = caller(async () => sign({ sub: 'root', scopes: ['admin'] }));
  assert.deepEqual(await admin.client.call('accounts', 'Accounts.Delete', {}), { deleted: true });
});

test('callers cannot spoof x-auth-* metadata, neither to the handler nor to the services it calls', async () => {
  const spoof = {
    [AUTH_SUBJECT_KEY]: 'root',
    [AUTH_SCOPES_KEY]: 'admin',
    'X-Auth-Extra': 'yes',
    tenant: 'a',
  };
  // Anonymous on a public endpoint: the spoofed keys are gone, the ordinary ones stay.
  const anon = caller();
  const pub = await anon.client.call<{ metadata: Record<string, string> }>(
    'accounts',
    'Public.Who',
    {},
    { metadata: spoof },
  );
  assert.equal(pub.metadata[AUTH_SUBJECT_KEY], undefined);
  assert.equal(pub.metadata['x-auth-extra'], undefined);
  assert.equal(pub.metadata.tenant, 'a');
  // Spoofing does not satisfy a scope either.
  const reader = caller(await sign({ sub: 'bob', scope: 'read' }));
  assert.equal(
    (await failure(reader.client.call('accounts', 'Accounts.Delete', {}, { metadata: spoof })))
      .code,
    403,
  );
  // With a real token the verified values win, also one hop further down.
  const down = await reader.client.call<{ metadata: Record<string, string> }>(
    'accounts',
    'Accounts.Forward',
    {},
    { metadata: spoof },
  );
  assert.equal(down.metadata[AUTH_SUBJECT_KEY], 'bob');
  assert.equal(down.metadata[AUTH_SCOPES_KEY], 'read');
  assert.equal(down.metadata['x-auth-extra'], undefined);
  assert.equal(down.metadata.tenant, 'a');
});

test('public keys (ES256) verify too', async () => {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const s = createService({
    name: 'es-accounts',
    registry,
    logger: quietLogger(),
    wrapHandler: [authHandler({ key: publicKey })],
  });
  s.handle('Accounts', echo);
  services.push(s);
  await s.start();
  const token = await new SignJWT({ sub: 'eve' })
    .setProtectedHeader({ alg: 'ES256' })
    .setExpirationTime('1m')
    .sign(privateKey);
  const rsp = await caller(token).client.call<{ metadata: Record<string, string> }>(
    'es-accounts',
    'Accounts.Who',
    {},
  );
  assert.equal(rsp.metadata[AUTH_SUBJECT_KEY], 'eve');
  // An HS256 token signed with anything is refused by a public-key verifier (no algorithm
  // confusion).
  const hs = await sign({ sub: 'eve' });
  assert.equal(
    (await failure(caller(hs).client.call('es-accounts', 'Accounts.Who', {}))).code,
    401,
  );
});

test('a token source that fails or gives nothing is a 401 before anything is sent', async () => {
  const broken = caller(async () => {
    throw new Error('token service down');
  });
  const err = await failure(broken.client.call('accounts', 'Accounts.Who', {}));
  assert.equal(err.code, 401);
  assert.match(err.detail, /token service down/);
  assert.equal(
    (await failure(caller(async () => '').client.call('accounts', 'Accounts.Who', {}))).code,
    401,
  );
});

test('bad auth options are InvalidOptionErrors', () => {
  assert.throws(() => authHandler({ key: 'short' }), InvalidOptionError);
  assert.throws(
    () => authHandler({ key: SECRET, rules: [{ endpoint: 'Bad' }] }),
    InvalidOptionError,
  );
  assert.throws(
    () => authHandler({ key: SECRET, rules: [{ endpoint: '*', access: 'open' as never }] }),
    InvalidOptionError,
  );
  assert.throws(() => authClient({ token: '' }), InvalidOptionError);
  assert.throws(() => authHandler({ key: SECRET, clockToleranceMs: -1 }), InvalidOptionError);
});
