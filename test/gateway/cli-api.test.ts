import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, startCli } from '../helpers/cli.js';
import { startFixture } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/tmp.js';
import { get, post } from './fleet.js';

test('tsmicro api: a gateway process in front of the named services, called over HTTP, stopped by SIGTERM', async () => {
  await using dir = await makeTempDir('gateway-cli-');
  const env = { TSMICRO_REGISTRY_DIR: dir.path, TSMICRO_LOG_LEVEL: 'error' };
  await using node = startFixture('gateway-service', ['a'], env);
  await node.waitForLine(/^ready /, 30_000);
  await using api = startCli(
    [
      'api',
      '--address',
      '127.0.0.1:0',
      '--services',
      'echo',
      '--timeout',
      '2s',
      '--cors',
      'http://app.example',
    ],
    env,
  );
  const line = await api.waitForLine(/^listening \S+$/, 30_000);
  const url = `http://${line.split(' ')[1]}`;

  const r = await post(`${url}/echo/Echo/Call`, { n: 1 }, { origin: 'http://app.example' });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.request, { n: 1 });
  assert.equal(r.headers.get('access-control-allow-origin'), 'http://app.example');
  // --timeout is the default deadline.
  const budget = r.body.budgetMs as number;
  assert.ok(budget > 0 && budget <= 2000, `budget ${budget}`);
  assert.deepEqual((await get(`${url}/`)).body.services, [{ name: 'echo' }]);
  // users runs in the same process but is not named: not reachable.
  assert.equal((await post(`${url}/users/Users/Get`, { id: 'u1' })).status, 404);
  assert.equal(await api.stop('SIGTERM'), 0);
});

test('tsmicro api: a bad or missing flag fails at start, naming itself (exit 2)', async () => {
  for (const [args, flag] of [
    [['api'], '--services'],
    [['api', '--services', 'echo', '--timeout', 'soon'], '--timeout'],
    [['api', '--services', 'echo', '--address', 'nowhere'], '--address'],
    [['api', '--services', 'echo', '--body_limit', '-1'], '--body_limit'],
    [['api', '--services', 'echo,no such'], '--services'],
  ] as const) {
    const r = await runCli(args, { env: { TSMICRO_LOG_LEVEL: 'error' } });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.includes(flag), `${args.join(' ')}: ${r.stderr}`);
  }
});
