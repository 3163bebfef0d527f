import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  createService,
  localRegistry,
  MicroError,
  type MicroErrorJSON,
  type Service,
} from '../../src/index.js';
import { startFixture, type Fixture } from '../helpers/processes.js';
import { quietLogger } from '../helpers/services.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';

// gateway → orders → inventory, each its own process on the default registry and transport;
// this process is the caller at the top. What it sees of an error from a hop further down.

let dir: TempDir;
let caller: Service;
const running: Fixture[] = [];

before(async () => {
  dir = await makeTempDir('hops');
  for (const role of ['inventory', 'orders', 'gateway'])
    running.push(
      startFixture('hop-service', [role], {
        TSMICRO_REGISTRY_DIR: dir.path,
        TSMICRO_LOG_LEVEL: 'fatal',
      }),
    );
  await Promise.all(running.map((f) => f.waitForLine(/^ready /)));
  caller = createService({
    name: 'top',
    registry: localRegistry({ dir: dir.path }),
    logger: quietLogger(),
  });
});
after(async () => {
  await caller?.stop();
  await Promise.allSettled(running.map((f) => f.kill('SIGTERM')));
  await dir?.[Symbol.asyncDispose]();
});

async function failure(service: string, endpoint: string, body: object): Promise<MicroErrorJSON> {
  try {
    await caller.client.call(service, endpoint, body, { retries: 0 });
  } catch (err) {
    assert.ok(MicroError.is(err), String(err));
    return err.toJSON() as MicroErrorJSON;
  }
  return assert.fail(`${service} ${endpoint} succeeded`);
}

test('a caller of orders sees that the inventory hop failed: same id, code and status, detail prefixed with the hop', async () => {
  assert.deepEqual(await failure('inventory', 'Inventory.Reserve', { sku: 'none' }), {
    id: 'inventory',
    code: 409,
    detail: 'out of stock',
    status: 'Conflict',
  });
  assert.deepEqual(await failure('orders', 'Orders.Place', { sku: 'none' }), {
    id: 'inventory',
    code: 409,
    detail: 'inventory/Inventory.Reserve: out of stock',
    status: 'Conflict',
  });
  assert.deepEqual(await failure('orders', 'Orders.Place', { sku: 'crash' }), {
    id: 'inventory',
    code: 500,
    detail: 'inventory/Inventory.Reserve: inventory bug',
    status: 'Internal Server Error',
  });
});

test('a longer chain names every hop, outermost first', async () => {
  assert.deepEqual(await failure('gateway', 'Gateway.Checkout', { sku: 'none' }), {
    id: 'inventory',
    code: 409,
    detail: 'orders/Orders.Place: inventory/Inventory.Reserve: out of stock',
    status: 'Conflict',
  });
});

test('a hop that failed itself (no such service, refused by a client wrapper) is named too; an error the handler made is its own', async () => {
  const ghost = await failure('orders', 'Orders.Ghost', {});
  assert.equal(ghost.id, 'go.micro.client');
  assert.equal(ghost.code, 503);
  assert.match(ghost.detail, /^ghost\/Ghost\.Boo: /);
  assert.deepEqual(await failure('orders', 'Orders.Blocked', {}), {
    id: 'go.micro.client',
    code: 503,
    detail: 'blocked/Blocked.Do: circuit open',
    status: 'Service Unavailable',
  });
  assert.deepEqual(await failure('orders', 'Orders.PlaceCaught', { sku: 'none' }), {
    id: 'orders',
    code: 422,
    detail: 'cannot place: out of stock',
    status: 'Unprocessable Entity',
  });
  assert.deepEqual(await caller.client.call('gateway', 'Gateway.Checkout', { sku: 'ok' }), {
    reserved: 'ok',
  });
});
