import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import {
  createService,
  InvalidOptionError,
  memoryRegistry,
  readConfig,
  SETTINGS,
  settingsHelp,
} from '../../src/index.js';
import { configureService } from '../../src/config/service-config.js';
import { parseGoDuration } from '../../src/config/values.js';
import { quietLogger } from '../helpers/services.js';
import { jsonLines } from '../wrappers/support.js';

describe('readConfig: go-micro flags and MICRO_* variables', () => {
  test('a flag wins over its variable; a variable is used without the flag; an empty one is unset', () => {
    const cfg = readConfig({
      flags: ['--registry=consul', '--registry_address', '10.0.0.1:8500,10.0.0.2:8500'],
      env: {
        MICRO_REGISTRY: 'etcd',
        MICRO_CLIENT_REQUEST_TIMEOUT: '1m30s',
        MICRO_SERVER_VERSION: '',
        MICRO_REGISTER_TTL: '60',
      },
    });
    assert.deepEqual(cfg.values, {
      registry: 'consul',
      registryAddress: ['10.0.0.1:8500', '10.0.0.2:8500'],
      timeoutMs: 90_000,
      registerTtlMs: 60_000,
    });
    assert.deepEqual(cfg.origin, {
      registry: '--registry',
      registry_address: '--registry_address',
      client_request_timeout: 'MICRO_CLIENT_REQUEST_TIMEOUT',
      register_ttl: 'MICRO_REGISTER_TTL',
    });
    assert.equal(cfg.help, false);
  });

  test('repeated list and pair flags add up; seconds and Go durations convert to ms', () => {
    const cfg = readConfig({
      env: false,
      flags: [
        '--server_metadata',
        'team=ops,tier=gold',
        '--server_metadata=zone=a',
        '--register_interval',
        '15',
        '--client_pool_ttl',
        '1.5s',
        '--client_retries',
        '0',
        '-h',
      ],
    });
    assert.deepEqual(cfg.values, {
      metadata: { team: 'ops', tier: 'gold', zone: 'a' },
      registerIntervalMs: 15_000,
      poolIdleMs: 1_500,
      retries: 0,
    });
    assert.equal(cfg.help, true);
    assert.equal(parseGoDuration('1h2m3s4ms'), 3_723_004);
    assert.equal(parseGoDuration('250us'), 0.25);
    assert.equal(parseGoDuration('5'), undefined, 'Go wants a unit');
  });

  const bad: [string, Parameters<typeof readConfig>[0], RegExp][] = [
    [
      'unknown registry (flag)',
      { flags: ['--registry', 'consol'] },
      /--registry: expected one of local, memory, consul, etcd, mdns, got "consol"/,
    ],
    [
      'unknown registry (variable)',
      { env: { MICRO_REGISTRY: 'consol' } },
      /MICRO_REGISTRY: expected one of local, memory, consul, etcd, mdns/,
    ],
    [
      'unknown broker',
      { env: { MICRO_BROKER: 'kafka' } },
      /MICRO_BROKER: expected one of http, nats, memory/,
    ],
    [
      'unknown transport',
      { flags: ['--transport=quic'] },
      /--transport: expected one of grpc, native, dual/,
    ],
    [
      'negative TTL',
      { env: { MICRO_REGISTER_TTL: '-5' } },
      /MICRO_REGISTER_TTL: expected a whole number of seconds ≥ 0, got "-5"/,
    ],
    [
      'TTL with a unit',
      { flags: ['--register_ttl=30s'] },
      /--register_ttl: expected a whole number of seconds/,
    ],
    [
      'timeout without unit',
      { env: { MICRO_CLIENT_REQUEST_TIMEOUT: '5' } },
      /MICRO_CLIENT_REQUEST_TIMEOUT: expected a positive Go duration/,
    ],
    [
      'malformed address',
      { flags: ['--server_address', 'localhost'] },
      /--server_address: expected host:port/,
    ],
    [
      'metadata without =',
      { env: { MICRO_SERVER_METADATA: 'a=1,b' } },
      /MICRO_SERVER_METADATA: expected key=value, got "b"/,
    ],
    [
      'name a registry cannot hold',
      { env: { MICRO_SERVER_NAME: 'my service' } },
      /MICRO_SERVER_NAME: expected letters, digits/,
    ],
    [
      'unknown flag',
      { flags: ['--registy', 'consul'] },
      /--registy: unknown flag; the flags are --registry,/,
    ],
    ['flag without value', { flags: ['--registry'] }, /--registry: expects a value/],
    ['stray argument', { flags: ['consul'] }, /unexpected argument "consul"/],
  ];
  for (const [what, sources, message] of bad)
    test(`refused, naming the flag or variable: ${what}`, () => {
      assert.throws(
        () => readConfig({ env: {}, ...sources }),
        (err: unknown) => err instanceof InvalidOptionError && message.test(err.message),
      );
    });

  test('--help lists every setting with its variable and its real default', () => {
    const help = settingsHelp('Usage: app [flags]');
    for (const s of SETTINGS) {
      const at = help.indexOf(`--${s.flag} `);
      assert.ok(at >= 0, `--${s.flag} missing`);
      const block = help.slice(at, help.indexOf('\n  --', at + 1));
      assert.ok(block.includes(s.env), `${s.env} missing for --${s.flag}`);
      assert.ok(block.includes(`(default: ${s.default})`), `default missing for --${s.flag}`);
    }
    assert.match(help, /--register_ttl seconds\s+MICRO_REGISTER_TTL\n.*\(default: 90\)/);
    assert.match(
      help,
      /--client_request_timeout duration\s+MICRO_CLIENT_REQUEST_TIMEOUT\n.*\(default: 5s\)/,
    );
  });
});

describe('createService: code > flags > environment > defaults', () => {
  async function node(opts: Parameters<typeof createService>[0]) {
    const s = createService({
      registry: memoryRegistry(),
      logger: quietLogger(),
      drainDelayMs: 0,
      ...opts,
    });
    await s.start();
    try {
      return { ...s.server.node!, name: s.name };
    } finally {
      await s.stop();
    }
  }
  const env = {
    MICRO_SERVER_NAME: 'from.env',
    MICRO_SERVER_VERSION: '3.0.0',
    MICRO_SERVER_METADATA: 'team=env,zone=a',
  };
  const flags = ['--server_version', '2.0.0', '--server_metadata', 'team=flag'];

  test('each option comes from the first source that sets it', async () => {
    const fromCode = await node({
      name: 'from.code',
      version: '1.0.0',
      metadata: { team: 'code' },
      env,
      flags,
    });
    assert.equal(fromCode.name, 'from.code');
    assert.equal(fromCode.metadata.team, 'code', 'code metadata keys win');
    assert.equal(fromCode.metadata.zone, undefined, 'a flag replaces its variable, lists included');

    const fromFlags = await node({ env, flags });
    assert.equal(fromFlags.name, 'from.env');
    assert.equal(fromFlags.metadata.team, 'flag');

    const fromEnv = await node({ env });
    assert.deepEqual([fromEnv.metadata.team, fromEnv.metadata.zone], ['env', 'a']);

    const off = await node({ name: 'plain', env: false, flags: false });
    assert.equal(off.metadata.team, undefined);
  });

  test('the versions land in the registry entry', async () => {
    const registry = memoryRegistry();
    for (const [opts, want] of [
      [{ name: 'v', version: '1.0.0', env, flags }, '1.0.0'],
      [{ name: 'v', env, flags }, '2.0.0'],
      [{ name: 'v', env }, '3.0.0'],
      [{ name: 'v', env: {} }, 'latest'],
    ] as const) {
      const s = createService({ registry, logger: quietLogger(), drainDelayMs: 0, ...opts });
      await s.start();
      const [svc] = await registry.getService('v');
      await s.stop();
      assert.equal(svc.version, want);
    }
  });

  test('a registry, broker and transport named by the environment are the ones used', async () => {
    const { stream, lines } = jsonLines();
    const s = createService({
      name: 'components',
      drainDelayMs: 0,
      logger: pino({ level: 'info' }, stream),
      env: { MICRO_REGISTRY: 'memory', MICRO_BROKER: 'memory', MICRO_TRANSPORT: 'grpc' },
      flags: ['--client_request_timeout', '750ms'],
    });
    await s.start();
    const md = { ...s.server.node!.metadata };
    await s.stop();
    assert.equal(md.registry, 'memory');
    const started = lines.find((l) => l.msg === 'server started');
    assert.equal(started?.transport, 'grpc', 'grpc alone, not the default dual path');
    const logged = lines.filter((l) => l.msg === 'configuration');
    assert.equal(logged.length, 1, 'logged once');
    const config = logged[0].config as Record<string, { value: string; from: string }>;
    assert.deepEqual(config.registry, { value: 'memory', from: 'env' });
    assert.deepEqual(config.client_request_timeout, { value: '750 ms', from: 'flag' });
    assert.deepEqual(config.register_ttl, { value: '90', from: 'default' });
    assert.deepEqual(config.server_name, { value: 'components', from: 'code' });
  });

  test('the logged configuration never carries credentials', () => {
    const cfg = configureService(
      {},
      { env: { MICRO_BROKER: 'nats', MICRO_BROKER_ADDRESS: 'nats://app:s3cret@127.0.0.1:4222' } },
    );
    const named = { name: 'x' };
    const summary = cfg.summary({
      registry: named as never,
      broker: named as never,
      transport: named as never,
    });
    assert.equal(summary.broker_address.value, 'nats://***@127.0.0.1:4222');
    assert.ok(!JSON.stringify(summary).includes('s3cret'));
  });

  test('bad settings throw at createService, naming the flag or variable', () => {
    const cases: [Parameters<typeof createService>[0], RegExp][] = [
      [
        { env: {} },
        /name: a service name is required \(in code, --server_name or MICRO_SERVER_NAME\)/,
      ],
      [
        { name: 'x', env: { MICRO_REGISTER_INTERVAL: '120' } },
        /MICRO_REGISTER_INTERVAL: the re-registration interval \(120 s\) must be > 0 and below the registration TTL \(90 s\)/,
      ],
      [
        { name: 'x', env: { MICRO_REGISTRY_ADDRESS: '127.0.0.1:8500' } },
        /MICRO_REGISTRY_ADDRESS: is set, but no registry is named/,
      ],
      [
        { name: 'x', env: { MICRO_REGISTRY: 'consul', MICRO_REGISTRY_ADDRESS: 'consul.local' } },
        /MICRO_REGISTRY_ADDRESS: expected host:port or http\(s\):\/\/host:port/,
      ],
      [
        { name: 'x', env: { MICRO_REGISTRY: 'memory' }, flags: ['--registry_address', 'a:1'] },
        /--registry_address: the memory registry takes no address/,
      ],
      [
        { name: 'x', env: { MICRO_BROKER: 'nats', MICRO_BROKER_ADDRESS: 'http://127.0.0.1:4222' } },
        /MICRO_BROKER_ADDRESS: expected nats:\/\/host:port/,
      ],
    ];
    for (const [opts, message] of cases)
      assert.throws(
        () => createService({ logger: quietLogger(), ...opts }),
        (err: unknown) => err instanceof InvalidOptionError && message.test(err.message),
        String(message),
      );
  });

  test('a registry set in code wins over MICRO_REGISTRY', async () => {
    const registry = memoryRegistry();
    const s = createService({
      name: 'code.registry',
      drainDelayMs: 0,
      registry,
      logger: quietLogger(),
      env: { MICRO_REGISTRY: 'consul', MICRO_REGISTRY_ADDRESS: '127.0.0.1:1' },
    });
    await s.start();
    const found = await registry.getService('code.registry');
    await s.stop();
    assert.equal(found.length, 1);
  });
});
