// The WebSocket close of a failed stream: 4000 + the error's code, and its typed JSON as the
// reason, cut to the 123 bytes a close frame holds by shortening the detail alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MicroError } from '../../src/errors.js';
import { closeCode, closeReason } from '../../src/gateway/stream-errors.js';

test('stream errors: the close code is 4000 + the code, 4500 for a code no status has', () => {
  assert.equal(closeCode(MicroError.conflict('feed', 'x')), 4409);
  assert.equal(closeCode(MicroError.unavailable('feed', 'x')), 4503);
  assert.equal(closeCode(new MicroError('feed', 1234, 'x')), 4500);
  assert.equal(closeCode(new MicroError('feed', 0, 'x')), 4500);
});

test('stream errors: a short error is the whole reason', () => {
  const err = MicroError.conflict('feed', 'failed after 2 messages');
  assert.deepEqual(JSON.parse(closeReason(err)), {
    id: 'feed',
    code: 409,
    detail: 'failed after 2 messages',
    status: 'Conflict',
  });
});

test('stream errors: a long detail is cut so the reason fits 123 bytes, in any script', () => {
  for (const detail of ['x'.repeat(500), 'é'.repeat(300), '😀'.repeat(200), 'a"\\'.repeat(100)]) {
    const reason = closeReason(MicroError.badRequest('go.micro.gateway', detail));
    assert.ok(Buffer.byteLength(reason) <= 123, `${Buffer.byteLength(reason)} bytes`);
    const parsed = JSON.parse(reason) as Record<string, unknown>;
    assert.equal(parsed.id, 'go.micro.gateway');
    assert.equal(parsed.code, 400);
    assert.equal(parsed.status, 'Bad Request');
    assert.ok(typeof parsed.detail === 'string' && parsed.detail.endsWith('…'));
    assert.ok(detail.startsWith(parsed.detail.slice(0, -1)), 'a prefix of the detail');
  }
});

test('stream errors: an id too long to fit leaves the code alone', () => {
  const reason = closeReason(new MicroError('i'.repeat(200), 503, 'down'));
  assert.deepEqual(JSON.parse(reason), { code: 503 });
});
