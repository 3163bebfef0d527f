// Bidirectional streams through the gateway over WebSocket, across processes: a feed service, a
// gateway process, and `ws` clients here. Messages go both ways in order, an empty frame ends the
// input, the service's end closes with 1000 and its failure with 4000 + code and the error's JSON
// as reason; refusals are typed HTTP answers to the upgrade; a peer that does not read holds the
// service's sends back (counted at the service), and reading lets it finish.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { waitFor } from '../helpers/wait.js';
import { heldAt, startStreamRig, type StreamRig } from './stream-setup.js';

let rig: StreamRig;
before(async () => {
  rig = await startStreamRig(['http://allowed.example']);
});
after(async () => {
  await rig?.[Symbol.asyncDispose]();
});

const wsUrl = (path: string): string => `${rig.base.replace(/^http/, 'ws')}${path}`;

/** Opens a socket; messages are collected from the start so none is missed. */
async function connect(
  path: string,
  opts: WebSocket.ClientOptions = {},
): Promise<{
  ws: WebSocket;
  messages: unknown[];
  closed: Promise<{ code: number; reason: string }>;
}> {
  const ws = new WebSocket(wsUrl(path), opts);
  const messages: unknown[] = [];
  ws.on('message', (data) => messages.push(JSON.parse((data as Buffer).toString('utf8'))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  await once(ws, 'open');
  return { ws, messages, closed };
}

/** The HTTP answer to an upgrade the gateway refuses. */
async function refusedUpgrade(
  path: string,
  opts: WebSocket.ClientOptions = {},
): Promise<{
  status: number;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}> {
  const ws = new WebSocket(wsUrl(path), opts);
  ws.on('error', () => undefined);
  const [, res] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
  let body = '';
  res.setEncoding('utf8');
  for await (const chunk of res) body += chunk as string;
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    body: JSON.parse(body) as Record<string, unknown>,
  };
}

test('websocket: a bidi stream echoes 500 messages in order; an empty frame ends the input', async () => {
  const { ws, messages, closed } = await connect('/feed/Feed/Echo');
  for (let n = 0; n < 500; n++) ws.send(JSON.stringify({ n }));
  ws.send('');
  const { code } = await closed;
  assert.equal(code, 1000);
  assert.deepEqual(
    messages,
    Array.from({ length: 500 }, (_, n) => ({ echo: { n } })),
  );
});

test('websocket: a failure mid-stream closes with 4000 + code and the typed error as reason', async () => {
  const { ws, messages, closed } = await connect('/feed/Feed.Fail');
  ws.send(JSON.stringify({ after: 2 }));
  ws.send('');
  const { code, reason } = await closed;
  assert.deepEqual(messages, [{ i: 0 }, { i: 1 }]);
  assert.equal(code, 4409);
  assert.deepEqual(JSON.parse(reason), {
    id: 'feed',
    code: 409,
    detail: 'failed after 2 messages',
    status: 'Conflict',
  });
});

test('websocket: a frame that is not JSON closes with 4400', async () => {
  const { ws, closed } = await connect('/feed/Feed/Echo');
  ws.send('{not json');
  const { code, reason } = await closed;
  assert.equal(code, 4400);
  const err = JSON.parse(reason) as { id: string; code: number; detail: string };
  assert.equal(err.code, 400);
  assert.equal(err.id, 'go.micro.gateway');
  assert.match(err.detail, /not JSON/);
});

test('websocket: refused upgrades are typed HTTP answers', async () => {
  const hidden = await refusedUpgrade('/secret/Feed/Echo');
  assert.equal(hidden.status, 404);
  assert.equal(hidden.body.code, 404);
  const origin = await refusedUpgrade('/feed/Feed/Echo', { origin: 'http://evil.example' });
  assert.equal(origin.status, 403);
  assert.equal(origin.body.code, 403);
  const noRoute = await refusedUpgrade('/feed');
  assert.equal(noRoute.status, 404);
  // An allowed origin is let in.
  const { ws, closed } = await connect('/feed/Feed/Echo', { origin: 'http://allowed.example' });
  ws.send('');
  assert.equal((await closed).code, 1000);
});

test("websocket: an upgrade past the route's rate limit is a 429 with Retry-After", async () => {
  // The route allows one a minute: the first upgrade is admitted (the stream then fails, as
  // Stats is not a stream), the second refused before any stream is opened.
  const first = await connect('/feed/Feed/Stats');
  first.ws.send('');
  assert.ok((await first.closed).code >= 4000);
  const limited = await refusedUpgrade('/feed/Feed/Stats');
  assert.equal(limited.status, 429);
  assert.equal(limited.body.code, 429);
  const retry = limited.headers['retry-after'];
  assert.ok(Number(retry) > 0, `retry-after: ${retry}`);
});

const TOTAL = 4_096;
const SIZE = 16 * 1024;

test('websocket: a peer that does not read holds the service back; reading lets it finish', async () => {
  await rig.reset();
  const ws = new WebSocket(wsUrl('/feed/Feed/Count'));
  await once(ws, 'open');
  // The socket stops reading before anything arrives; messages are counted once it reads again.
  ws.pause();
  ws.send(JSON.stringify({ n: TOTAL, size: SIZE }));
  ws.send('');
  const held = await heldAt(async () => (await rig.stats()).sent, TOTAL / 4, 'websocket');
  for (let i = 0; i < 50; i++) await rig.stats();
  assert.equal((await rig.stats()).sent, held, 'the service went on with nobody reading');

  let got = 0;
  let inOrder = true;
  ws.on('message', (data) => {
    const msg = JSON.parse((data as Buffer).toString('utf8')) as { i: number; pad: string };
    if (msg.i !== got || msg.pad.length !== SIZE) inOrder = false;
    got++;
  });
  const closed = once(ws, 'close');
  ws.resume();
  const [code] = (await closed) as [number];
  assert.equal(code, 1000);
  assert.equal(got, TOTAL);
  assert.ok(inOrder, 'messages arrive in order and whole');
  const stats = await rig.stats();
  assert.equal(stats.sent, TOTAL);
  assert.equal(stats.finished, 1);
  console.log(`websocket flow control: held at ${held} of ${TOTAL} messages of ${SIZE} bytes`);
});

test('websocket: a service that does not read holds the peer back through the gateway', async () => {
  // Echo answers each message before it reads the next: with the peer not reading the answers,
  // the service stops reading, the gateway stops taking frames, and the peer's sends queue in
  // its own socket.
  await rig.reset();
  const ws = new WebSocket(wsUrl('/feed/Feed/Echo'));
  await once(ws, 'open');
  ws.pause();
  const pad = 'y'.repeat(SIZE);
  for (let n = 0; n < TOTAL; n++) ws.send(JSON.stringify({ n, pad }));
  const held = await heldAt(async () => (await rig.stats()).received, TOTAL / 4, 'inbound');
  assert.ok(ws.bufferedAmount > 0, 'the peer has unsent messages');
  let got = 0;
  ws.on('message', () => {
    got++;
    if (got === TOTAL) ws.send('');
  });
  const closed = once(ws, 'close');
  ws.resume();
  const [code] = (await closed) as [number];
  assert.equal(code, 1000);
  assert.equal(got, TOTAL);
  assert.equal((await rig.stats()).received, TOTAL);
  console.log(`websocket inbound flow control: the service had read ${held} of ${TOTAL}`);
});

test('websocket: a peer that leaves mid-stream cancels the service stream', async () => {
  await rig.reset();
  const ws = new WebSocket(wsUrl('/feed/Feed/Count'));
  await once(ws, 'open');
  ws.send(JSON.stringify({ n: TOTAL, size: SIZE }));
  ws.send('');
  await once(ws, 'message');
  ws.pause();
  await heldAt(async () => (await rig.stats()).sent, TOTAL / 4, 'before leaving');
  ws.terminate();
  await waitFor(async () => (await rig.stats()).cancelled === 1, 30_000, 'the cancel');
  assert.equal((await rig.stats()).finished, 0);
});
