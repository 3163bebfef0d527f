// `node .build/examples/security/demo.js`: a service behind mutual TLS and bearer-JWT auth.
// Makes a throwaway CA with openssl (in a temp dir), starts the "vault" service requiring client
// certificates and a token with scope `secrets:read` for Vault.Read, then calls it as a trusted
// client, without a token, with a token lacking the scope, and without a client certificate.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import {
  createService,
  grpcTransport,
  memoryRegistry,
  MicroError,
  type HandlerContext,
  type TlsOptions,
} from '../../src/index.js';
import { AUTH_SUBJECT_KEY, authClient, authHandler } from '../../src/wrappers/auth.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tsmicro-security-demo-'));
const file = (name: string): string => path.join(dir, name);
const openssl = (...args: string[]): void => {
  execFileSync('openssl', args, { stdio: 'ignore' });
};
const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function makePki(): void {
  openssl(
    'req',
    '-x509',
    ...ec,
    '-days',
    '1',
    '-subj',
    '/CN=demo-ca',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
  );
  for (const [name, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'],
    ['client', 'extendedKeyUsage=clientAuth\n'],
  ] as const) {
    writeFileSync(file(`${name}.ext`), ext);
    openssl(
      'req',
      ...ec,
      '-subj',
      `/CN=${name}`,
      '-keyout',
      file(`${name}.key`),
      '-out',
      file(`${name}.csr`),
    );
    openssl(
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file('ca.crt'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-days',
      '1',
      '-out',
      file(`${name}.crt`),
      '-extfile',
      file(`${name}.ext`),
    );
  }
}

const secret = 'demo-secret-at-least-32-characters';
const token = (scope: string): Promise<string> =>
  new SignJWT({ sub: 'ada', scope })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('demo')
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret));

async function main(): Promise<void> {
  makePki();
  const registry = memoryRegistry();
  const serverTls: TlsOptions = {
    caFile: file('ca.crt'),
    certFile: file('server.crt'),
    keyFile: file('server.key'),
    requireClientCert: true,
  };
  const clientTls: TlsOptions = {
    caFile: file('ca.crt'),
    certFile: file('client.crt'),
    keyFile: file('client.key'),
  };

  const vault = createService({
    name: 'vault',
    registry,
    transport: grpcTransport({ tls: serverTls }),
    wrapHandler: [
      authHandler({
        key: secret,
        issuer: 'demo',
        rules: [
          { endpoint: 'Vault.Read', scopes: ['secrets:read'] },
          { endpoint: 'Vault.Ping', access: 'public' },
        ],
      }),
    ],
  });
  vault.handle('Vault', {
    async Ping() {
      return { pong: true };
    },
    // The subject comes from the verified token; a caller cannot set it through metadata.
    async Read(req: { key: string }, ctx: HandlerContext) {
      return { key: req.key, value: 's3cr3t', reader: ctx.metadata[AUTH_SUBJECT_KEY] };
    },
  });
  await vault.start();

  const caller = (tls: TlsOptions, jwt?: string) =>
    createService({
      name: 'caller',
      registry,
      transport: grpcTransport({ tls }),
      ...(jwt ? { wrapClient: [authClient({ token: jwt })] } : {}),
    });
  const attempt = async (what: string, tls: TlsOptions, jwt?: string): Promise<void> => {
    const c = caller(tls, jwt);
    try {
      const rsp = await c.client.call<{ value: string; reader: string }>(
        'vault',
        'Vault.Read',
        { key: 'db' },
        { metadata: { 'x-auth-subject': 'root' }, retries: 0 },
      );
      console.log(`[${what}] read ${rsp.value} as ${rsp.reader}`);
    } catch (err) {
      console.log(
        `[${what}] refused: ${MicroError.is(err) ? `${err.code} ${err.detail}` : String(err)}`,
      );
    } finally {
      await c.stop();
    }
  };
  await attempt('trusted', clientTls, await token('secrets:read'));
  await attempt('no token', clientTls);
  await attempt('no scope', clientTls, await token('profile'));
  await attempt('no client certificate', { caFile: file('ca.crt') }, await token('secrets:read'));
  await vault.stop();
  await registry.close();
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
