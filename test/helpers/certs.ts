import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, type TempDir } from './tmp.js';

const run = promisify(execFile);

/** One certificate and its key, as PEM, with the files they were written to. */
export interface CertPair {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

/** A throwaway PKI made with openssl: a CA, a server cert for 127.0.0.1/localhost, client certs. */
export interface TestPki extends AsyncDisposable {
  /** The trusted CA (its cert also at `ca.certFile`). */
  ca: CertPair;
  /** Server certificate signed by `ca`, SAN IP:127.0.0.1, IP:::1, DNS:localhost. */
  server: CertPair;
  /** Client certificate signed by `ca`. */
  client: CertPair;
  /** A second, untrusted CA and a client certificate it signed (looks right, is not). */
  rogueCa: CertPair;
  rogueClient: CertPair;
  dir: TempDir;
}

/** Generates the PKI in a temp dir (EC P-256 keys: fast); `await using` removes it. */
export async function makeTestPki(): Promise<TestPki> {
  const dir = await makeTempDir('tsmicro-pki-');
  const file = (name: string): string => path.join(dir.path, name);
  const read = async (name: string): Promise<CertPair> => ({
    cert: await readFile(file(`${name}.crt`), 'utf8'),
    key: await readFile(file(`${name}.key`), 'utf8'),
    certFile: file(`${name}.crt`),
    keyFile: file(`${name}.key`),
  });
  const ca = async (name: string): Promise<void> => {
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      file(`${name}.key`),
      '-out',
      file(`${name}.crt`),
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  };
  // The leaf's extensions (SAN, key usage) come from `<name>.ext`, written below.
  const leaf = async (name: string, issuer: string): Promise<void> => {
    await run('openssl', [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      file(`${name}.key`),
      '-out',
      file(`${name}.csr`),
    ]);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file(`${issuer}.crt`),
      '-CAkey',
      file(`${issuer}.key`),
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      file(`${name}.crt`),
      '-extfile',
      file(`${name}.ext`),
    ]);
  };
  await writeFile(
    file('server.ext'),
    'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  await writeFile(file('client.ext'), 'extendedKeyUsage=clientAuth\n');
  await writeFile(file('rogue-client.ext'), 'extendedKeyUsage=clientAuth\n');
  await ca('ca');
  await ca('rogue-ca');
  await leaf('server', 'ca');
  await leaf('client', 'ca');
  await leaf('rogue-client', 'rogue-ca');
  return {
    ca: await read('ca'),
    server: await read('server'),
    client: await read('client'),
    rogueCa: await read('rogue-ca'),
    rogueClient: await read('rogue-client'),
    dir,
    [Symbol.asyncDispose]: () => dir[Symbol.asyncDispose](),
  };
}
