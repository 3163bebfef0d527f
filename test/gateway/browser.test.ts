// A real browser against a gateway process: headless Chromium (Debian's, driven by
// playwright-core) loads a page from one origin (a static server here) and calls the gateway on
// another. A page of an allowed origin reads a unary answer (through the CORS preflight) and an
// SSE stream through EventSource; a page of an origin the gateway does not allow is refused by
// the browser itself (its fetch fails and its EventSource errors without a message). Skipped,
// with the reason, where Chromium is not installed, except under CI=true, where that fails.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type BrowserContext } from 'playwright-core';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';
import { startStreamRig, type StreamRig } from './stream-setup.js';

const CHROMIUM = '/usr/bin/chromium';

function skipReason(): string | false {
  if (existsSync(CHROMIUM)) return false;
  const reason = `no ${CHROMIUM}: apt-get install -y chromium (.ci/services.sh does)`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  return reason;
}
const skip = skipReason();

/** A static server of one origin: an empty page the tests run their script in. */
async function pageServer(): Promise<{ origin: string; server: http.Server }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>gateway test page</title>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

let allowed: { origin: string; server: http.Server };
let refused: { origin: string; server: http.Server };
let rig: StreamRig;
let profile: TempDir;
let browser: BrowserContext;

before(async () => {
  if (skip) return;
  allowed = await pageServer();
  refused = await pageServer();
  rig = await startStreamRig([allowed.origin]);
  profile = await makeTempDir('gw-chromium-');
  // A persistent context on a fresh directory: Chromium's --user-data-dir is playwright's to set.
  browser = await chromium.launchPersistentContext(profile.path, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 60_000,
  });
});
after(async () => {
  await browser?.close();
  await rig?.[Symbol.asyncDispose]();
  allowed?.server.close();
  refused?.server.close();
  await profile?.[Symbol.asyncDispose]();
});

/** What a page's fetch of a unary call got: the answer, or the browser's failure. */
interface FetchOutcome {
  status?: number;
  body?: unknown;
  failed?: string;
}

async function fetchFrom(origin: string): Promise<FetchOutcome> {
  const page = await browser.newPage();
  try {
    await page.goto(`${origin}/`);
    return await page.evaluate(async (gateway: string): Promise<FetchOutcome> => {
      try {
        const res = await fetch(`${gateway}/feed/Feed/Say`, {
          method: 'POST',
          // JSON is not a "simple" content type: the browser sends a preflight first.
          headers: { 'content-type': 'application/json' },
          body: '{"from":"the page"}',
        });
        return { status: res.status, body: await res.json() };
      } catch (err) {
        return { failed: String(err) };
      }
    }, rig.base);
  } finally {
    await page.close();
  }
}

/** What a page's EventSource of a server stream got. */
interface SseOutcome {
  messages: unknown[];
  ended: boolean;
  /** An `error` event without data: the browser refused or lost the stream. */
  failed: boolean;
}

async function eventSourceFrom(origin: string, n: number): Promise<SseOutcome> {
  const page = await browser.newPage();
  try {
    await page.goto(`${origin}/`);
    return await page.evaluate(
      ({ gateway, n }: { gateway: string; n: number }): Promise<SseOutcome> =>
        new Promise((resolve) => {
          const out: SseOutcome = { messages: [], ended: false, failed: false };
          const source = new EventSource(
            `${gateway}/feed/Feed/Count?request=${encodeURIComponent(JSON.stringify({ n }))}`,
          );
          source.onmessage = (ev: { data: string }) => out.messages.push(JSON.parse(ev.data));
          source.addEventListener('end', () => {
            out.ended = true;
            source.close();
            resolve(out);
          });
          source.onerror = () => {
            // The browser would reconnect; one failure is the verdict.
            out.failed = true;
            source.close();
            resolve(out);
          };
        }),
      { gateway: rig.base, n },
    );
  } finally {
    await page.close();
  }
}

test(
  'browser: a page of an allowed origin calls the gateway across origins',
  { skip },
  async () => {
    const got = await fetchFrom(allowed.origin);
    assert.equal(got.failed, undefined, `the fetch failed: ${got.failed}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, { echo: { from: 'the page' } });
  },
);

test('browser: a page of a refused origin is blocked by CORS', { skip }, async () => {
  const got = await fetchFrom(refused.origin);
  assert.equal(got.status, undefined, `the page read a ${got.status} answer`);
  assert.match(got.failed ?? '', /TypeError/);
});

test('browser: an SSE stream arrives in the page through EventSource', { skip }, async () => {
  const got = await eventSourceFrom(allowed.origin, 25);
  assert.equal(got.failed, false, 'the EventSource failed');
  assert.equal(got.ended, true);
  assert.deepEqual(
    got.messages,
    Array.from({ length: 25 }, (_, i) => ({ i, pad: '' })),
  );
});

test('browser: a refused origin gets no SSE stream', { skip }, async () => {
  const got = await eventSourceFrom(refused.origin, 25);
  assert.equal(got.failed, true);
  assert.deepEqual(got.messages, []);
});
