import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { makeTempDir } from '../helpers/tmp.js';
import { consumerFiles } from './consumer-lock.js';

/**
 * tsmicro as a user gets it: `npm pack` of the built package, installed into a project of its
 * own with none of the optional peers, then the greeter example run from that project — so what
 * runs is the tarball's files and the dependencies its package.json declares, nothing of this
 * repository's node_modules. npm runs offline, from its cache (see consumer-lock.ts).
 */

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const builtExample = (file: string): string =>
  fileURLToPath(new URL(`../../examples/greeter/${file}`, import.meta.url));

/** Each subpath that loads an optional peer, with the error it must give without it. */
const PEER_SUBPATHS: Record<string, string> = {
  'tsmicro/registry/consul': 'needs the package "consul": npm install consul',
  'tsmicro/registry/etcd': 'needs the package "etcd3": npm install etcd3',
  'tsmicro/registry/mdns': 'needs the package "multicast-dns": npm install multicast-dns',
  'tsmicro/broker/nats': 'needs the package "nats": npm install nats',
  'tsmicro/wrappers/breaker': 'needs the package "opossum": npm install opossum',
  'tsmicro/wrappers/metrics': 'needs the package "prom-client": npm install prom-client',
  'tsmicro/wrappers/auth': 'needs the package "jose": npm install jose',
  'tsmicro/wrappers/global-ratelimit':
    'needs the packages "rate-limiter-flexible" and "ioredis": npm install rate-limiter-flexible ioredis',
  'tsmicro/wrappers/tracing':
    'needs the packages "@opentelemetry/api" and "@opentelemetry/core": ' +
    'npm install @opentelemetry/api @opentelemetry/core',
  'tsmicro/gateway':
    'needs the packages "fastify" and "@fastify/cors" and "ws": npm install fastify @fastify/cors ws',
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (bounded, so a hung npm fails the test instead of stalling it). */
function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env, timeout: 120_000, signal }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      if (err && code === null) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}`));
      else resolve({ code, stdout, stderr });
    });
  });
}

async function ok(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
) {
  const r = await run(cmd, args, cwd, env, signal);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')} failed:\n${r.stderr}\n${r.stdout}`);
  return r;
}

/**
 * The environment npm and node get: the caller's, minus what `npm test` exports for its own
 * project (npm_config_local_prefix and the like would point the consumer's npm at this repo) and
 * NODE_OPTIONS (the test runner's flags), keeping only the cache — the one this repo's `npm ci`
 * filled — and with the network off for npm.
 */
function consumerEnv(registryDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) && k !== 'INIT_CWD' && k !== 'NODE_OPTIONS') env[k] = v;
  }
  if (process.env.npm_config_cache) env.npm_config_cache = process.env.npm_config_cache;
  env.npm_config_offline = 'true';
  env.npm_config_audit = 'false';
  env.npm_config_fund = 'false';
  env.npm_config_update_notifier = 'false';
  env.TSMICRO_REGISTRY_DIR = registryDir;
  env.TSMICRO_LOG_LEVEL = 'warn';
  return env;
}

/** Imports each subpath in the consumer; answers `ok` or the error's name and message. */
const PROBE = `
const out = {};
for (const spec of process.argv.slice(2)) {
  try { await import(spec); out[spec] = 'ok'; }
  catch (err) { out[spec] = err.name + ': ' + err.message; }
}
console.log(JSON.stringify(out));
`;

/** What the consumer compiles with tsc, strict, its own library checks on. */
const TYPED_APP = `
import {
  clientFor,
  createService,
  defineService,
  implement,
  MicroError,
  ofType,
  type CallWrapper,
  type Registry,
  type Transport,
} from 'tsmicro';
import type { Dispatcher, FrameStream, Strategy, Watcher } from 'tsmicro/plugin';
import type { TlsOptions } from 'tsmicro/transport/tls';
// @ts-expect-error a plug-in author's type: in tsmicro/plugin, not in the root export
import type { Dispatcher as NotInRoot } from 'tsmicro';

const service = createService({ name: 'typed' });
service.handle('Greeter', {
  async Hello(req: { name: string }): Promise<{ msg: string }> {
    if (req.name === '') throw MicroError.badRequest('typed', 'name is required');
    return { msg: 'Hello ' + req.name };
  },
});
// A contract on types alone (no schema library installed): typed handlers and a typed client.
const Typed = defineService('typed', {
  Typed: { Hello: { request: ofType<{ name: string }>(), response: ofType<{ msg: string }>() } },
});
implement(service, Typed, { Typed: { Hello: ({ name }) => ({ msg: name }) } });
export const typedHello = (name: string): Promise<string> =>
  clientFor(Typed, service.client).Typed.Hello({ name }).then((r) => r.msg);
export const passThrough: CallWrapper = (next) => (ctx, node, req, opts) =>
  next(ctx, node, req, opts);
export const tls: TlsOptions = { ca: '-----BEGIN CERTIFICATE-----' };
export type PluginContract = [Dispatcher, FrameStream, Strategy, Watcher, Registry, Transport];
export type Unused = NotInRoot;
`;

test('the packed tarball installs without optional peers, runs the greeter, and names what a subpath lacks', async () => {
  await using dir = await makeTempDir('tsmicro-consumer-');
  // Declared after `dir`, so disposed before it: if the test fails while tsc runs, tsc is
  // killed rather than left running over a removed directory.
  const stopTypeCheck = new AbortController();
  using _stop = { [Symbol.dispose]: () => stopTypeCheck.abort() };
  const consumer = path.join(dir.path, 'consumer');
  await mkdir(consumer);
  const env = consumerEnv(path.join(dir.path, 'registry'));
  const pkg = JSON.parse(await readFile(path.join(repo, 'package.json'), 'utf8')) as {
    peerDependencies: Record<string, string>;
  };

  // The scripts are skipped: `prepare` would rebuild dist/, which the suite has just built.
  const packed = await ok(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', dir.path],
    repo,
    env,
  );
  const [{ filename }] = JSON.parse(packed.stdout) as { filename: string }[];
  const tarball = `../${path.basename(filename)}`;

  const core = await consumerFiles(repo, tarball);
  await writeFile(path.join(consumer, 'package.json'), core.packageJson);
  await writeFile(path.join(consumer, 'package-lock.json'), core.packageLock);
  await ok('npm', ['ci', '--offline'], consumer, env);
  // The tree is what the tarball's package.json asks for, nothing missing or invalid...
  await ok('npm', ['ls', '--all', '--offline'], consumer, env);
  // ...and no optional peer arrived with it (none is a dependency of a core dependency).
  const installed = await readdir(path.join(consumer, 'node_modules'), { recursive: true });
  const isInstalled = (name: string): boolean =>
    installed.some((p) => p === name || p.endsWith(`node_modules/${name}`));
  for (const peer of Object.keys(pkg.peerDependencies))
    assert.ok(!isInstalled(peer), `${peer} was installed with the core`);

  // The consumer's `tsmicro` is its own installed copy, not this repository.
  const where = await ok(
    process.execPath,
    ['--input-type=module', '-e', "console.log(import.meta.resolve('tsmicro'))"],
    consumer,
    env,
  );
  assert.ok(
    fileURLToPath(where.stdout.trim()).startsWith(path.join(consumer, 'node_modules', 'tsmicro')),
    where.stdout,
  );

  // The type side: the root, the plug-in contract and the tls types compile strict, with the
  // libraries' own declarations checked too (no skipLibCheck) and no @types/opossum around.
  await writeFile(path.join(consumer, 'app.ts'), TYPED_APP);
  const tsconfig = {
    compilerOptions: {
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      target: 'ES2022',
      strict: true,
      noEmit: true,
      // Our declarations and our dependencies' are checked; TypeScript's own lib files are not
      // ours to check (and checking them triples the time).
      skipLibCheck: false,
      skipDefaultLibCheck: true,
    },
    files: ['app.ts'],
  };
  await writeFile(path.join(consumer, 'tsconfig.json'), JSON.stringify(tsconfig));
  assert.ok(!isInstalled('@types/opossum'));
  const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const typeCheck = ok(
    process.execPath,
    [tsc, '-p', consumer],
    consumer,
    env,
    stopTypeCheck.signal,
  );
  typeCheck.catch(() => {}); // its failure is reported where it is awaited

  // The greeter on the defaults (local registry, dual-path transport on loopback, JSON): the
  // example programs, compiled, importing 'tsmicro' from the consumer's node_modules.
  await copyFile(builtExample('server.js'), path.join(consumer, 'server.js'));
  await copyFile(builtExample('client.js'), path.join(consumer, 'client.js'));
  const server = spawn(process.execPath, ['server.js'], {
    cwd: consumer,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(server, 'exit');
  try {
    let serverErr = '';
    server.stderr.setEncoding('utf8').on('data', (d: string) => (serverErr += d));
    const ready = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ready line; stderr:\n${serverErr}`)),
        60_000,
      );
      createInterface({ input: server.stdout }).on('line', (line) => {
        if (!/greeter ready at/.test(line)) return;
        clearTimeout(timer);
        resolve(line);
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`server exited before it was ready; stderr:\n${serverErr}`));
      });
    });
    assert.match(ready, /^greeter ready at 127\.0\.0\.1:\d+$/);
    const client = await ok(process.execPath, ['client.js', 'Consumer'], consumer, env);
    assert.equal(client.stdout, 'Hello Consumer\n');

    // The package's `tsmicro` command, as npm installed it, finds the greeter; naming Consul
    // without its package is a usage error that says what to install.
    const bin = path.join(consumer, 'node_modules', '.bin', 'tsmicro');
    assert.match(await readFile(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/);
    assert.ok(((await stat(bin)).mode & 0o111) !== 0, 'executable');
    const listed = await ok(process.execPath, [bin, 'services'], consumer, env);
    assert.ok(
      (JSON.parse(listed.stdout) as { name: string }[]).some((s) => s.name === 'greeter'),
      listed.stdout,
    );
    const noConsul = await run(process.execPath, [bin, 'services'], consumer, {
      ...env,
      MICRO_REGISTRY: 'consul',
    });
    assert.equal(noConsul.code, 2, noConsul.stderr);
    assert.match(
      noConsul.stderr,
      /MICRO_REGISTRY: consul: tsmicro\/registry\/consul needs the package "consul": npm install consul/,
    );
  } finally {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGTERM');
    await exited;
  }
  assert.equal(server.exitCode, 0, 'the server stops cleanly on SIGTERM');

  // Every subpath imports; those built on a missing optional peer say which one and how.
  await writeFile(path.join(consumer, 'probe.mjs'), PROBE);
  const CORE_SUBPATHS = [
    'tsmicro',
    'tsmicro/plugin',
    'tsmicro/registry/memory',
    'tsmicro/registry/local',
    'tsmicro/selector',
    'tsmicro/transport/grpc',
    'tsmicro/transport/native',
    'tsmicro/transport/memory',
    'tsmicro/transport/mucp',
    'tsmicro/transport/dual-path',
    'tsmicro/transport/tls',
    'tsmicro/codec/json',
    'tsmicro/codec/bytes',
    'tsmicro/codec/proto',
    'tsmicro/contract/proto',
    'tsmicro/broker/memory',
    'tsmicro/wrappers/ratelimit',
    'tsmicro/wrappers/bulkhead',
    'tsmicro/wrappers/logging',
  ];
  const probe = await ok(
    process.execPath,
    ['probe.mjs', ...CORE_SUBPATHS, ...Object.keys(PEER_SUBPATHS)],
    consumer,
    env,
  );
  const outcome = JSON.parse(probe.stdout) as Record<string, string>;
  for (const spec of CORE_SUBPATHS) assert.equal(outcome[spec], 'ok', spec);
  for (const [spec, says] of Object.entries(PEER_SUBPATHS))
    assert.equal(outcome[spec], `MissingPackageError: ${spec} ${says}`);

  // As a program sees it: the import fails at once, exit code 1, the message on stderr.
  const consulImport = ['--input-type=module', '-e', "import 'tsmicro/registry/consul';"];
  const missing = await run(process.execPath, consulImport, consumer, env);
  assert.equal(missing.code, 1);
  assert.match(
    missing.stderr,
    /MissingPackageError: tsmicro\/registry\/consul needs the package "consul": npm install consul/,
  );

  // A service told MICRO_REGISTRY=consul without the package fails its start, naming both.
  const configured = await run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "import { createService } from 'tsmicro'; await createService({ name: 'c' }).start();",
    ],
    consumer,
    { ...env, MICRO_REGISTRY: 'consul' },
  );
  assert.equal(configured.code, 1);
  assert.match(
    configured.stderr,
    /invalid option MICRO_REGISTRY: consul: tsmicro\/registry\/consul needs the package "consul": npm install consul/,
  );

  // The type check runs while the programs below do (it is the slowest step, and both only
  // read node_modules); it is awaited before consul is installed.
  await typeCheck;

  // Installing consul, as `npm install consul` would add it, makes the subpath work.
  const withConsul = await consumerFiles(repo, tarball, ['consul']);
  await writeFile(path.join(consumer, 'package.json'), withConsul.packageJson);
  await writeFile(path.join(consumer, 'package-lock.json'), withConsul.packageLock);
  await ok('npm', ['install', '--offline'], consumer, env);
  const constructed = await ok(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "import { consulRegistry } from 'tsmicro/registry/consul';" +
        "console.log(consulRegistry({ address: '127.0.0.1:8500' }).name);",
    ],
    consumer,
    env,
  );
  assert.equal(constructed.stdout, 'consul\n');

  // A package that is there but lacks one of its own dependencies keeps Node's own error: the
  // clear message is for the package itself missing, never for a broken install.
  await rm(path.join(consumer, 'node_modules', 'papi'), { recursive: true });
  const broken = await run(process.execPath, consulImport, consumer, env);
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /Cannot find module 'papi'/);
  assert.doesNotMatch(broken.stderr, /MissingPackageError/);
});
