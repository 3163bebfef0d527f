import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gomicroSkipReason, runPeer, startPeer, type Peer } from '../helpers/gomicro.js';
import { microSkipReason, runMicro } from '../helpers/micro-cli.js';
import { netnsSkipReason, oneHost, type Netns } from '../helpers/netns.js';
import { startFixture, type Fixture } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

// go-micro's whole default stack against tsmicro's preset, nothing shared but the LAN: a go-micro
// v5.30 server and client on registry.DefaultRegistry (mDNS) with go-micro's default rpc server
// and client on its HTTP transport, go-micro's `micro call`, and tsmicro services made with
// `profile: 'go-micro'` and nothing else. They find each other over mDNS and call each other over
// mucp, and their events go both ways over go-micro's HTTP broker, which finds subscribers in the
// same mDNS registry. All inside one network namespace the test makes (multicast on its loopback).
const skip = netnsSkipReason() || (await gomicroSkipReason()) || (await microSkipReason());

const BUDGET_S = 1234;

/**
 * The tsmicro publisher probes until its mDNS lookup has found the go-micro subscriber (probes
 * are not counted); once `subscriber` reports one, it is told to publish, and this resolves when
 * it has.
 */
async function publishOnceProbed(pub: Fixture, subscriber: Peer): Promise<void> {
  await subscriber.waitFor((l) => l.event === 'probe', 90_000);
  pub.child.kill('SIGUSR2');
  await pub.waitForLine(/"event":"published"/, 60_000);
}
const EVENTS = 10;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Received {
  event: 'message';
  header: Record<string, string>;
  body: string;
}

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

    test(`a go-micro default broker publishes, a tsmicro subscriber on the profile receives: ${EVENTS} events exact`, async () => {
      const topic = 'interop.defaults.go2ts';
      const sub = startFixture(
        'gomicro-defaults',
        ['subscribe', 'ts.defaults.sub', topic],
        {},
        { netns: ns },
      );
      let peer: Peer | undefined;
      try {
        await sub.waitForLine(/"event":"subscribed"/, 60_000);
        // go-micro's Publish asks mDNS for the subscribers (for 100 ms) and, when no answer came
        // in time, fails with "not found" before it sends anything: then a fresh publisher,
        // bounded. Its sends run in goroutines, so it stays up (--linger) until we saw them.
        const misses: string[] = [];
        for (let i = 0; i < 5 && !peer; i++) {
          const p = await startPeer(
            'publish',
            [
              '-registry',
              'mdns',
              '--topic',
              topic,
              '--count',
              String(EVENTS),
              '--header',
              'origin=go,Content-Type=application/grpc+bytes',
              '--linger',
              '120s',
            ],
            { netns: ns },
          );
          try {
            await p.waitFor((l) => l.event === 'published', 60_000);
            peer = p;
          } catch (err) {
            await p.stop('SIGKILL');
            if (!p.stderr().includes('not found')) throw err;
            misses.push(p.stderr());
          }
        }
        assert.ok(peer, `the go-micro publisher never found the subscriber: ${misses.join('\n')}`);
        const messages = (): Received[] =>
          sub.lines
            .map((l) => JSON.parse(l) as Received | { event: string })
            .filter((l): l is Received => l.event === 'message');
        await waitFor(
          () => messages().length >= EVENTS,
          60_000,
          () => `${EVENTS} events, have ${messages().length}; peer stderr:\n${peer!.stderr()}`,
        );
        await new Promise((r) => setTimeout(r, 300)); // an over-delivery would show up here
        const got = messages().sort((a, b) => Number(a.header.seq) - Number(b.header.seq));
        assert.equal(got.length, EVENTS);
        got.forEach((m, i) => {
          assert.deepEqual(m, {
            event: 'message',
            header: {
              seq: String(i),
              origin: 'go',
              'Content-Type': 'application/grpc+bytes',
              'Micro-Topic': topic,
            },
            body: Buffer.concat([Buffer.from(`go-${i}`), Buffer.from([0x00, 0xff])]).toString(
              'base64',
            ),
          });
        });
      } finally {
        await peer?.stop('SIGKILL');
        await sub.kill('SIGKILL');
      }
    });

    test(`a tsmicro publisher on the profile reaches a go-micro default subscriber: ${EVENTS} events exact, in order`, async () => {
      const topic = 'interop.defaults.ts2go';
      await using peer = await startPeer(
        'subscribe',
        ['-registry', 'mdns', '--topic', topic, '--count', String(EVENTS), '--wait', '180s'],
        { netns: ns },
      );
      // go-micro's Subscribe registers in mDNS before it returns.
      await peer.waitFor((l) => l.event === 'subscribed', 60_000);
      const pub = startFixture(
        'gomicro-defaults',
        ['publish', 'ts.defaults.pub', topic, String(EVENTS)],
        {},
        { netns: ns },
      );
      try {
        await publishOnceProbed(pub, peer);
        const done = await peer.waitFor(
          (l) => l.event === 'done' || l.event === 'timeout',
          180_000,
        );
        assert.deepEqual(done, { event: 'done', received: EVENTS });
        const received = peer.lines.filter((l) => l.event === 'message') as unknown as Received[];
        assert.equal(received.length, EVENTS);
        // Each publish waited for the Go handler's answer: the order is kept.
        received.forEach((m, i) => {
          const { 'Micro-ID': id, ...header } = m.header;
          assert.match(id, UUID);
          assert.deepEqual(header, {
            seq: String(i),
            origin: 'ts',
            // What go-micro's own rpc client sends: its rpc server reads grpc+json as
            // gRPC-framed, so a client on mucp names its JSON events so (see the next test).
            'Content-Type': 'application/json',
            'Micro-Topic': topic,
          });
          assert.equal(
            Buffer.from(m.body, 'base64').toString(),
            JSON.stringify({ seq: i, from: 'ts' }),
          );
        });
        assert.equal(new Set(received.map((m) => m.header['Micro-ID'])).size, EVENTS);
      } finally {
        await pub.kill('SIGKILL');
      }
    });

    test(`a go-micro default server's subscriber (as RegisterSubscriber) decodes a tsmicro publisher's ${EVENTS} events`, async () => {
      const topic = 'interop.defaults.ts2gosrv';
      // go-micro's rpc server with no broker option: broker.DefaultBroker, the HTTP broker on
      // mDNS. It decodes each event with the codec its Content-Type names, into a Struct: an
      // event named application/grpc+json never arrives (its gRPC codec wants a framed body).
      await using server = await startPeer(
        'server',
        [
          '-registry',
          'mdns',
          '--transport',
          'http',
          '--name',
          'go.defaults.sub',
          '--subscribe',
          topic,
        ],
        { netns: ns },
      );
      await server.waitFor((l) => l.event === 'ready', 60_000);
      const pub = startFixture(
        'gomicro-defaults',
        ['publish', 'ts.defaults.pub2', topic, String(EVENTS)],
        {},
        { netns: ns },
      );
      try {
        await publishOnceProbed(pub, server);
        const events = () =>
          server.lines.filter((l) => l.event === 'subscriber') as unknown as {
            body: unknown;
            metadata: Record<string, string>;
          }[];
        await waitFor(
          () => events().length >= EVENTS,
          60_000,
          () => `${EVENTS} decoded events, have ${events().length}:\n${server.stderr()}`,
        );
        // Each publish waited for the subscriber's answer: the order is kept.
        events().forEach((e, i) => {
          assert.deepEqual(e.body, { seq: i, from: 'ts' });
          const md = Object.fromEntries(
            Object.entries(e.metadata).map(([k, v]) => [k.toLowerCase(), v]),
          );
          assert.equal(md.seq, String(i));
          assert.equal(md.origin, 'ts');
        });
        assert.equal(events().length, EVENTS);
      } finally {
        await pub.kill('SIGKILL');
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
