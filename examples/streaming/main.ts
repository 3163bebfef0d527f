// Streaming, all three shapes, between two services on the embedded defaults:
// `node main.js`. One `streaming()` handler serves each shape; the caller decides how it talks.
import { createService, MicroError, streaming } from 'tsmicro';

const server = createService({ name: 'numbers' });
server.handle('Numbers', {
  // Server streaming: one request in, many replies out.
  Countdown: streaming<{ from: number }, { n: number }>(async (stream) => {
    for await (const { from } of stream) {
      if (from > 100) throw MicroError.badRequest('numbers', 'too far to count');
      for (let n = from; n >= 0; n--) await stream.send({ n }); // resolves when the peer can take more
      return;
    }
  }),
  // Client streaming: many requests in, one reply when the caller closes its side.
  Sum: streaming<{ value: number }, { total: number }>(async (stream) => {
    let total = 0;
    for await (const { value } of stream) total += value;
    await stream.send({ total });
  }),
  // Bidi: replies interleave with requests.
  Echo: streaming<{ text: string }, { text: string }>(async (stream, ctx) => {
    for await (const { text } of stream) {
      if (ctx.signal.aborted) return; // the caller cancelled or the deadline passed
      await stream.send({ text: text.toUpperCase() });
    }
  }),
});
await server.start();

const caller = createService({ name: 'numbers-client' });
const { client } = caller;
try {
  const countdown = await client.stream<{ from: number }, { n: number }>(
    'numbers',
    'Numbers.Countdown',
  );
  await countdown.send({ from: 3 });
  countdown.closeSend();
  const ns: number[] = [];
  for await (const { n } of countdown) ns.push(n);
  console.log(`countdown: ${ns.join(' ')}`);

  const sum = await client.stream<{ value: number }, { total: number }>('numbers', 'Numbers.Sum');
  for (let i = 1; i <= 10; i++) await sum.send({ value: i });
  sum.closeSend();
  console.log(`sum: ${(await sum.recv())?.total}`);

  const echo = await client.stream<{ text: string }, { text: string }>('numbers', 'Numbers.Echo', {
    timeoutMs: 5_000,
  });
  for (const word of ['hello', 'streams']) {
    await echo.send({ text: word });
    console.log(`echo: ${(await echo.recv())?.text}`);
  }
  echo.cancel(); // both ends release the stream

  // An error mid-stream arrives as a MicroError where the caller reads.
  const tooFar = await client.stream<{ from: number }, { n: number }>(
    'numbers',
    'Numbers.Countdown',
  );
  await tooFar.send({ from: 1_000 });
  tooFar.closeSend();
  await tooFar.recv().catch((err: unknown) => {
    if (!MicroError.is(err)) throw err;
    console.log(`error: ${err.code} ${err.detail}`);
  });
} finally {
  await caller.stop();
  await server.stop();
}
