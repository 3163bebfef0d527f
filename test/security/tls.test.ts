import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createService,
  dualPathTransport,
  grpcTransport,
  InvalidOptionError,
  memoryRegistry,
  MicroError,
  nativeTransport,
  type Registry,
  type Service,
  type TlsOptions,
  type Transport,
} from '../../src/index.js';
import { NATIVE_PORT_KEY } from '../../src/transport/dual-path.js';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { quietLogger } from '../helpers/services.js';

// TLS and mutual TLS on the gRPC and native transports, over real loopback sockets, with a CA the test makes
// itself (openssl). Each server is a full service; clients are services with their own transport.
let pki: TestPki;
let registry: Registry;
const services: Service[] = [];

before(async () => {
  pki = await makeTestPki();
  registry = memoryRegistry();
});
after(async () => {
  await Promise.allSettled(services.map((s) => s.stop()));
  await registry.close();
  await pki[Symbol.asyncDispose]();
});

async function server(name: string, tls: TlsOptions): Promise<Service> {
  const s = createService({
    name,
    registry,
    logger: quietLogger(),
    transport: grpcTransport({ tls }),
  });
  s.handle('Greeter', {
    async Hello(req: { name: string }) {
      return { msg: `Hello ${req.name}` };
    },
  });
  services.push(s);
  await s.start();
  return s;
}

function client(tls?: TlsOptions): Service {
  const s = createService({
    name: 'caller',
    registry,
    logger: quietLogger(),
    transport: grpcTransport(tls ? { tls } : {}),
  });
  services.push(s);
  return s;
}

/** The MicroError a call fails with (the test fails if it succeeds or throws anything else). */
async function refusal(c: Service, service: string): Promise<MicroError> {
  try {
    await c.client.call(
      service,
      'Greeter.Hello',
      { name: 'intruder' },
      { timeoutMs: 5_000, retries: 0 },
    );
  } catch (err) {
    assert.ok(MicroError.is(err), `expected a MicroError, got ${String(err)}`);
    return err;
  }
  assert.fail('the call succeeded');
}

test('TLS from inline PEM: a client trusting the CA calls; plaintext and wrong-CA clients are refused', async () => {
  await server('tls-inline', { cert: pki.server.cert, key: pki.server.key });
  const good = client({ ca: pki.ca.cert });
  assert.deepEqual(await good.client.call('tls-inline', 'Greeter.Hello', { name: 'Ada' }), {
    msg: 'Hello Ada',
  });

  const plain = await refusal(client(), 'tls-inline');
  assert.equal(plain.code, 503, plain.detail);
  const wrongCa = await refusal(client({ ca: pki.rogueCa.cert }), 'tls-inline');
  assert.equal(wrongCa.code, 503);
  assert.match(
    wrongCa.detail,
    /certificate|TLS|SSL|handshake/i,
    'the detail says it is a certificate problem',
  );
});

test('mutual TLS from files: only a client with a certificate signed by the CA gets in', async () => {
  await server('mtls-files', {
    caFile: pki.ca.certFile,
    certFile: pki.server.certFile,
    keyFile: pki.server.keyFile,
    requireClientCert: true,
  });
  const good = client({
    caFile: pki.ca.certFile,
    certFile: pki.client.certFile,
    keyFile: pki.client.keyFile,
  });
  for (let i = 0; i < 20; i++) {
    assert.deepEqual(await good.client.call('mtls-files', 'Greeter.Hello', { name: `n${i}` }), {
      msg: `Hello n${i}`,
    });
  }
  const noCert = await refusal(client({ ca: pki.ca.cert }), 'mtls-files');
  assert.equal(noCert.code, 503, noCert.detail);
  const rogue = await refusal(
    client({ ca: pki.ca.cert, cert: pki.rogueClient.cert, key: pki.rogueClient.key }),
    'mtls-files',
  );
  assert.equal(rogue.code, 503, rogue.detail);
  const plain = await refusal(client(), 'mtls-files');
  assert.equal(plain.code, 503, plain.detail);
  // The refusals did not hurt the server: the good client still gets through.
  assert.deepEqual(await good.client.call('mtls-files', 'Greeter.Hello', { name: 'after' }), {
    msg: 'Hello after',
  });
});

test('serverName checks the certificate against a name other than the dialled host', async () => {
  await server('tls-name', { cert: pki.server.cert, key: pki.server.key });
  const named = client({ ca: pki.ca.cert, serverName: 'localhost' });
  assert.deepEqual(await named.client.call('tls-name', 'Greeter.Hello', { name: 'x' }), {
    msg: 'Hello x',
  });
  const wrong = await refusal(
    client({ ca: pki.ca.cert, serverName: 'not-the-server.example' }),
    'tls-name',
  );
  assert.equal(wrong.code, 503, wrong.detail);
});

test('unusable TLS options are InvalidOptionErrors at construction', async () => {
  const bad = (tls: TlsOptions, option: RegExp): void => {
    assert.throws(
      () => grpcTransport({ tls }),
      (err: unknown) => err instanceof InvalidOptionError && option.test(err.option),
      JSON.stringify(tls).slice(0, 80),
    );
  };
  bad({ certFile: '/nonexistent/server.crt', keyFile: pki.server.keyFile }, /tls\.certFile$/);
  bad({ cert: pki.server.cert }, /tls\.key$/);
  bad({ cert: pki.server.cert, key: pki.server.key, requireClientCert: true }, /tls\.ca$/);
  bad({ ca: pki.ca.cert, caFile: pki.ca.certFile }, /tls\.ca$/);
  bad({ ca: 'not a certificate' }, /tls$/);
  bad({ serverName: '' }, /tls\.serverName$/);
  // A client-only TLS transport refuses to listen, with the reason.
  const dialOnly = grpcTransport({ tls: { ca: pki.ca.cert } });
  await assert.rejects(
    dialOnly.listen('127.0.0.1:0', {
      kind: () => undefined,
      unary: async () => new Uint8Array(),
      stream: async () => {},
    }),
    InvalidOptionError,
  );
  await dialOnly.close();
});

test('a refused TLS client gets a MicroError that says it is a TLS problem', async () => {
  await server('tls-why', {
    ca: pki.ca.cert,
    cert: pki.server.cert,
    key: pki.server.key,
    requireClientCert: true,
  });
  const cases: [string, TlsOptions][] = [
    ['no client certificate', { ca: pki.ca.cert }],
    [
      'a certificate from another CA',
      { ca: pki.ca.cert, cert: pki.rogueClient.cert, key: pki.rogueClient.key },
    ],
    ['an untrusted server', { ca: pki.rogueCa.cert, cert: pki.client.cert, key: pki.client.key }],
  ];
  for (const [what, tls] of cases) {
    const err = await refusal(client(tls), 'tls-why');
    assert.equal(err.code, 503, what);
    assert.equal(
      err.fault?.beforeHandler,
      true,
      `${what}: never reached a handler, so safe to retry elsewhere`,
    );
    assert.match(
      err.detail,
      /^TLS connection to 127\.0\.0\.1:\d+ failed/,
      `${what}: ${err.detail}`,
    );
  }
});

test('gRPC and native take the same TlsOptions objects: mutual TLS both ways on each, and on dual-path', async () => {
  // One object per side, handed unchanged to every transport.
  const serverSide: TlsOptions = {
    caFile: pki.ca.certFile,
    certFile: pki.server.certFile,
    keyFile: pki.server.keyFile,
    requireClientCert: true,
  };
  const clientSide: TlsOptions = { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key };
  const noClientCert: TlsOptions = { ca: pki.ca.cert };
  const distrustsServer: TlsOptions = {
    ca: pki.rogueCa.cert,
    cert: pki.client.cert,
    key: pki.client.key,
  };
  let handled = 0;
  const serve = async (name: string, transport: Transport): Promise<Service> => {
    const s = createService({ name, registry, logger: quietLogger(), transport });
    s.handle('Greeter', {
      async Hello(req: { name: string }) {
        handled++;
        return { msg: `Hello ${req.name}` };
      },
    });
    services.push(s);
    await s.start();
    return s;
  };
  const caller = (transport: Transport): Service => {
    const s = createService({ name: 'caller', registry, logger: quietLogger(), transport });
    services.push(s);
    return s;
  };
  const wires: [string, (tls: TlsOptions) => Transport][] = [
    ['grpc', (tls) => grpcTransport({ tls })],
    ['native', (tls) => nativeTransport({ tls })],
  ];
  for (const [wire, make] of wires) {
    const name = `mtls-same-${wire}`;
    await serve(name, make(serverSide));
    const good = caller(make(clientSide));
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(await good.client.call(name, 'Greeter.Hello', { name: `${wire}${i}` }), {
        msg: `Hello ${wire}${i}`,
      });
    }
    const before = handled;
    // The server authenticates the client...
    const noCert = await refusal(caller(make(noClientCert)), name);
    assert.equal(noCert.code, 503, `${wire}, no client certificate: ${noCert.detail}`);
    // ...and the client authenticates the server.
    const untrusted = await refusal(caller(make(distrustsServer)), name);
    assert.equal(untrusted.code, 503, `${wire}, untrusted server: ${untrusted.detail}`);
    assert.equal(handled, before, `${wire}: no refused call reached the handler`);
  }

  // Dual-path: both wires of one service from the same object; a dual-path caller takes the
  // native port, a gRPC-only caller the node address, and each is mutually authenticated.
  const dual = await serve(
    'mtls-same-dual',
    dualPathTransport({
      grpc: grpcTransport({ tls: serverSide }),
      native: nativeTransport({ tls: serverSide }),
    }),
  );
  const nativePort = dual.server.node!.metadata[NATIVE_PORT_KEY];
  assert.match(nativePort ?? '', /^\d+$/);
  const dualCaller = caller(
    dualPathTransport({
      grpc: grpcTransport({ tls: clientSide }),
      native: nativeTransport({ tls: clientSide }),
    }),
  );
  assert.deepEqual(await dualCaller.client.call('mtls-same-dual', 'Greeter.Hello', { name: 'd' }), {
    msg: 'Hello d',
  });
  const nativeAddress = `127.0.0.1:${nativePort}`;
  for (const [wire, make] of wires) {
    const address = wire === 'native' ? nativeAddress : dual.server.node!.address;
    assert.deepEqual(
      await caller(make(clientSide)).client.call(
        'mtls-same-dual',
        'Greeter.Hello',
        { name: wire },
        { address },
      ),
      { msg: `Hello ${wire}` },
    );
    const err = await caller(make(noClientCert))
      .client.call('mtls-same-dual', 'Greeter.Hello', {}, { address, retries: 0 })
      .catch((e: unknown) => e);
    assert.ok(
      MicroError.is(err, 503),
      `${wire} on dual-path, no client certificate: ${String(err)}`,
    );
  }
});

test('the native transport checks TlsOptions as gRPC does, at construction', async () => {
  const bad = (tls: TlsOptions, option: RegExp): void => {
    assert.throws(
      () => nativeTransport({ tls }),
      (err: unknown) => err instanceof InvalidOptionError && option.test(err.option),
      JSON.stringify(tls).slice(0, 80),
    );
  };
  bad(
    { certFile: '/nonexistent/server.crt', keyFile: pki.server.keyFile },
    /^nativeTransport\.tls\.certFile$/,
  );
  bad({ cert: pki.server.cert }, /^nativeTransport\.tls\.key$/);
  bad(
    { cert: pki.server.cert, key: pki.server.key, requireClientCert: true },
    /^nativeTransport\.tls\.ca$/,
  );
  bad({ ca: 'not a certificate' }, /^nativeTransport\.tls$/);
  bad({ serverName: '' }, /^nativeTransport\.tls\.serverName$/);
  // The shape native took before 0.2 is refused by name, not silently ignored.
  bad(
    { server: { key: pki.server.key } } as unknown as TlsOptions,
    /^nativeTransport\.tls\.server$/,
  );
  // A client-only TLS transport refuses to listen (never falls back to plaintext).
  const dialOnly = nativeTransport({ tls: { ca: pki.ca.cert } });
  await assert.rejects(
    dialOnly.listen('127.0.0.1:0', {
      kind: () => undefined,
      unary: async () => new Uint8Array(),
      stream: async () => {},
    }),
    InvalidOptionError,
  );
  await dialOnly.close();
});
