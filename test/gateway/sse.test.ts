// Server streams through the gateway as Server-Sent Events, across processes: a feed service, a
// gateway process, and readers here over real HTTP. Messages arrive in order and the end is
// marked; a failure mid-stream arrives as a typed `event: error`; a reader that does not read
// holds the service's sends back (counted at the service), and reading lets it finish.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { heldAt, startStreamRig, type StreamRig } from './stream-setup.js';
import { openSse, type SseReader } from './sse-reader.js';
import { waitFor } from '../helpers/wait.js';

let rig: StreamRig;
before(async () => {
  rig = await startStreamRig();
});
after(async () => {
  await rig?.[Symbol.asyncDispose]();
});

/** The next event, which must be `event: error`: its typed error. */
async function errorEvent(sse: SseReader): Promise<unknown> {
  const ev = await sse.next();
  assert.equal(ev?.event, 'error', `not an error event: ${JSON.stringify(ev)}`);
  return JSON.parse(ev.data);
}

const count = (n: number, size = 0): string =>
  `${rig.base}/feed/Feed/Count?request=${encodeURIComponent(JSON.stringify({ n, size }))}`;

test('sse: a server stream arrives as events in order, then event: end', async () => {
  const sse = await openSse(count(200));
  assert.equal(sse.status, 200);
  assert.match(String(sse.headers['content-type']), /^text\/event-stream/);
  for (let i = 0; i < 200; i++) {
    const ev = await sse.next();
    assert.ok(ev, `the stream ended after ${i} events`);
    assert.equal(ev.event, 'message');
    assert.equal(ev.id, String(i + 1));
    assert.deepEqual(JSON.parse(ev.data), { i, pad: '' });
  }
  assert.deepEqual(await sse.next(), { event: 'end', data: '{}' });
  assert.equal(await sse.next(), undefined);
});

test('sse: the query fields are the request when there is no request parameter', async () => {
  // The handler reads them as strings; Number('3') is 3.
  const sse = await openSse(`${rig.base}/feed/Feed.Count?n=3`);
  const got: unknown[] = [];
  for (let ev = await sse.next(); ev && ev.event === 'message'; ev = await sse.next())
    got.push(JSON.parse(ev.data));
  assert.deepEqual(
    got,
    [0, 1, 2].map((i) => ({ i, pad: '' })),
  );
});

test('sse: a failure mid-stream arrives as a typed event: error after the messages before it', async () => {
  const sse = await openSse(
    `${rig.base}/feed/Feed/Fail?request=${encodeURIComponent('{"after":3}')}`,
  );
  for (let i = 0; i < 3; i++) assert.deepEqual(JSON.parse((await sse.next())!.data), { i });
  assert.deepEqual(await errorEvent(sse), {
    id: 'feed',
    code: 409,
    detail: 'failed after 3 messages',
    status: 'Conflict',
  });
  assert.equal(await sse.next(), undefined);
});

test('sse: refusals before the stream starts are typed JSON answers', async () => {
  const bad = await openSse(`${rig.base}/feed/Feed/Count?request=%7Bnope`);
  assert.equal(bad.status, 400);
  const badBody = JSON.parse(await bad.text()) as { code: number; id: string; detail: string };
  assert.equal(badBody.code, 400);
  assert.match(badBody.detail, /not JSON/);

  const hidden = await openSse(`${rig.base}/secret/Feed/Count`);
  assert.equal(hidden.status, 404);
  assert.equal((JSON.parse(await hidden.text()) as { code: number }).code, 404);

  // A handler's refusal of the request itself comes as the stream's first event.
  assert.deepEqual(await errorEvent(await openSse(count(-1))), {
    id: 'feed',
    code: 400,
    detail: 'n and size must be whole numbers',
    status: 'Bad Request',
  });
});

/** Messages the held-back stream would send in all: 64 MiB, far past every buffer on the way. */
const TOTAL = 4_096;
const SIZE = 16 * 1024;

test('sse: a reader that does not read holds the service back; reading lets it finish', async () => {
  await rig.reset();
  const sse = await openSse(count(TOTAL, SIZE));
  sse.pause();
  // Kernel socket buffers on both hops and HTTP/2 windows hold some; a quarter is far more than
  // all of those together, far less than what would be sent without flow control.
  const held = await heldAt(async () => (await rig.stats()).sent, TOTAL / 4, 'sse');
  // Still held after many more round trips.
  for (let i = 0; i < 50; i++) await rig.stats();
  assert.equal((await rig.stats()).sent, held, 'the service went on with nobody reading');

  sse.resume();
  let maxAhead = 0;
  for (let i = 0; i < TOTAL; i++) {
    const ev = await sse.next();
    assert.ok(ev && ev.event === 'message', `event ${i}: ${JSON.stringify(ev)?.slice(0, 200)}`);
    const msg = JSON.parse(ev.data) as { i: number; pad: string };
    assert.equal(msg.i, i, 'messages arrive in order');
    assert.equal(msg.pad.length, SIZE);
    if (i % 512 === 0) maxAhead = Math.max(maxAhead, (await rig.stats()).sent - i);
  }
  assert.equal((await sse.next())?.event, 'end');
  const stats = await rig.stats();
  assert.equal(stats.sent, TOTAL);
  assert.equal(stats.finished, 1);
  console.log(
    `sse flow control: held at ${held} of ${TOTAL} messages of ${SIZE} bytes; at most ${maxAhead} ahead once reading`,
  );
});

test('sse: a reader that leaves mid-stream cancels the service stream', async () => {
  await rig.reset();
  const sse = await openSse(count(TOTAL, SIZE));
  for (let i = 0; i < 10; i++) assert.equal((await sse.next())?.event, 'message');
  sse.close();
  // Cancelled, the handler's next send fails: it never finishes and stops short of TOTAL.
  await waitFor(async () => (await rig.stats()).cancelled === 1, 30_000, 'the cancel');
  const stats = await rig.stats();
  assert.equal(stats.finished, 0);
  assert.ok(stats.sent < TOTAL);
});
