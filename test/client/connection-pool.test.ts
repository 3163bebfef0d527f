import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectivityState, credentials } from '@grpc/grpc-js';
import { ChannelPool } from '../../src/transport/grpc/pool.js';

// The client's pool of gRPC channels, one per node address: bounded, idle ones evicted first.
const config = { credentials: credentials.createInsecure(), options: {}, idleMs: 60_000 };

test('past maxChannels the least recently used idle channel is closed; busy ones never are', async () => {
  const pool = new ChannelPool({ ...config, maxChannels: 2 });
  try {
    const a = pool.acquire('127.0.0.1:1001');
    const b = pool.acquire('127.0.0.1:1002');
    b.release();
    await new Promise((r) => setTimeout(r, 5)); // distinct last-use times
    a.release();
    // a was used last, so b is the least recently used idle channel.
    pool.acquire('127.0.0.1:1003').release();
    assert.equal(pool.size, 2);
    assert.equal(pool.acquire('127.0.0.1:1001').client, a.client, 'a survived');
    assert.notEqual(
      pool.acquire('127.0.0.1:1002').client,
      b.client,
      'b was closed; a new channel replaced it',
    );

    const busy = new ChannelPool({ ...config, maxChannels: 1 });
    const held = busy.acquire('127.0.0.1:2001');
    busy.acquire('127.0.0.1:2002');
    assert.equal(
      busy.size,
      2,
      'nothing idle to close: the pool goes over rather than break a call',
    );
    assert.equal(busy.acquire('127.0.0.1:2001').client, held.client);
    busy.close();
  } finally {
    pool.close();
  }
});

test("an evicted (dead) node's channel is closed and never handed out again", () => {
  const pool = new ChannelPool(config);
  const first = pool.acquire('127.0.0.1:3001');
  first.release();
  pool.evict('127.0.0.1:3001');
  assert.equal(pool.size, 0);
  const second = pool.acquire('127.0.0.1:3001');
  assert.notEqual(second.client, first.client);
  assert.equal(
    first.client.getChannel().getConnectivityState(false),
    connectivityState.SHUTDOWN,
    'the old channel is closed',
  );
  pool.close();
});
