import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gomicroSkipReason, runPeer, startPeer, type Peer } from '../helpers/gomicro.js';
import { microSkipReason, runMicro } from '../helpers/micro-cli.js';
import { netnsSkipReason, oneHost, type Netns } from '../helpers/netns.js';
import { startFixture, type Fixture } from '../helpers/processes.js';

// go-micro's whole default stack against tsmicro's preset, nothing shared but the LAN: a go-micro
// v5.30 server and client on registry.DefaultRegistry (mDNS) with go-micro's default rpc server
// and client on its HTTP transport, go-micro's `micro call`, and tsmicro services made with
// `profile: 'go-micro'` and nothing else. They find each other over mDNS and call each other over
// mucp. All inside one network namespace the test makes (multicast on its loopback).
const skip = netnsSkipReason() || (await gomicroSkipReason()) || (await microSkipReason());

const BUDGET_S = 1234;

describe(
  "go-micro's defaults (mDNS + rpc/HTTP) ⇄ tsmicro's go-micro profile (real processes)",
  { skip },
  () => {
    let net: Netns;
    let ns: string;
    let go: Peer;
    let ts: Fixture;
    let tsReady: { id: string; address: string; metadata: Record<string, string> };

    before(async () => {
      net = oneHost();
      ns = net.hosts[0];
      go = await startPeer(
        'server',
        ['-registry', 'mdns', '--transport', 'http', '--name', 'go.defaults'],
        { netns: ns },
      );
      await go.waitFor((l) => l.event === 'ready', 60_000);
      ts = startFixture('gomicro-defaults', ['serve', 'ts.defaults'], {}, { netns: ns });
      const line = await ts.waitForLine(/"event":"ready"/, 60_000);
      tsReady = JSON.parse(line.input!) as typeof tsReady;
    });
    after(async () => {
      await ts?.kill('SIGKILL');
      await go?.stop();
      net?.remove();
    });

    test('the tsmicro node registers as a go-micro default node does', () => {
      assert.equal(tsReady.metadata.registry, 'mdns');
      assert.equal(tsReady.metadata.broker, 'http');
      assert.equal(tsReady.metadata.transport, 'http');
      assert.equal(tsReady.metadata.protocol, 'mucp');
    });

    test('a go-micro default client finds the tsmicro service over mDNS and calls it: metadata and deadline arrive', async () => {
      const lines = await runPeer(
        'call',
        [
          '-registry',
          'mdns',
          '--transport',
          'http',
          '--service',
          'ts.defaults',
          '--body',
          '{"name":"gopher"}',
          '--metadata',
          'x-request-id=go-1',
          '--timeout',
          `${BUDGET_S}s`,
        ],
        60_000,
        { netns: ns },
      );
      assert.equal(lines.length, 1);
      const [line] = lines;
      assert.equal(line.ok, true, JSON.stringify(line));
      const r = line.response as {
        msg: string;
        metadata: Record<string, string>;
        budgetMs: number;
      };
      assert.equal(r.msg, 'Hello gopher');
      assert.equal(r.metadata['x-request-id'], 'go-1');
      assert.ok(
        r.budgetMs <= BUDGET_S * 1000 && r.budgetMs > BUDGET_S * 1000 - 600_000,
        `${r.budgetMs}`,
      );
      const [fail] = await runPeer(
        'call',
        [
          '-registry',
          'mdns',
          '--transport',
          'http',
          '--service',
          'ts.defaults',
          '--endpoint',
          'Greeter.Fail',
          '--body',
          '{"why":"no"}',
        ],
        60_000,
        { netns: ns },
      );
      assert.deepEqual(fail, {
        ok: false,
        error: { id: 'ts.defaults.fail', code: 409, detail: 'refused: no', status: 'Conflict' },
      });
    });

    test('a tsmicro client on the profile finds the go-micro service over mDNS and calls it', async () => {
      const f = startFixture(
        'gomicro-defaults',
        ['call', 'go.defaults', 'Greeter.Hello', '{"name":"ts"}'],
        {},
        { netns: ns },
      );
      try {
        const line = await f.waitForLine(/^\{"ok"/, 60_000);
        const got = JSON.parse(line.input!) as {
          ok: boolean;
          response: {
            server: string;
            request: unknown;
            metadata: Record<string, string>;
            budgetMs: number;
          };
        };
        assert.equal(got.ok, true, line.input);
        assert.equal(got.response.server, 'go.defaults');
        assert.deepEqual(got.response.request, { name: 'ts' });
        assert.equal(got.response.metadata['X-Request-Id'], 'ts-1');
        assert.ok(got.response.budgetMs <= 10_000 && got.response.budgetMs > 0, line.input);
      } finally {
        await f.kill('SIGKILL');
      }
    });

    test("`micro call` (go-micro's CLI, its default client) calls the tsmicro service", async () => {
      // micro resolves once, for 100 ms: a busy host may answer late, so ask again, bounded.
      let out = '';
      let lastErr = '';
      for (let i = 0; i < 20 && !out.includes('Hello cli'); i++) {
        try {
          out = await runMicro(ns, ['call', 'ts.defaults', 'Greeter.Hello', '{"name":"cli"}']);
        } catch (err) {
          lastErr = String(err);
        }
      }
      assert.equal((JSON.parse(out) as { msg: string }).msg, 'Hello cli', `${out} ${lastErr}`);
    });
  },
);
