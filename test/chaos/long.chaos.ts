import { describe, test } from 'node:test';
import { natsSkipReason } from '../helpers/nats.js';
import { skipReason } from '../helpers/servers.js';
import { SCALE } from './harness.js';
import {
  churn,
  natsRestart,
  registryRestart,
  rollingDeploy,
  sigkill,
  sigstop,
} from './scenarios.js';

// The long chaos suite (`npm run test:chaos`): every scenario with CHAOS_SCALE × 5 s of load,
// then CHURN_MS (default 10 minutes) of nodes joining and leaving every 3 s with the client's
// heap, gRPC channels, registry watchers and handles checked flat. Not part of `npm test` (its
// name does not end in .test.js). Set CHAOS_REPORT=<file> to collect the numbers as JSON lines.
const consulSkip = await skipReason('consul');
const natsSkip = natsSkipReason();
const churnMs = Number(process.env.CHURN_MS ?? 600_000);

describe(`chaos (long, scale ${SCALE})`, () => {
  test('a node SIGKILLed under load', (t) => sigkill(t).then(() => undefined));
  test('a node SIGSTOPped (hung) then resumed', (t) => sigstop(t).then(() => undefined));
  test('a rolling deploy', (t) => rollingDeploy(t).then(() => undefined));
  test('the registry (Consul) stopped and restarted', { skip: consulSkip }, (t) =>
    registryRestart(t).then(() => undefined),
  );
  test('NATS restarted under durable publishes', { skip: natsSkip }, (t) =>
    natsRestart(t).then(() => undefined),
  );
  // Default pool idle time (60 s): channels to departed nodes must still be closed in time.
  test(
    `churn for ${Math.round(churnMs / 1000)} s: heap, channels, watchers and handles stay flat`,
    { timeout: churnMs + 120_000 },
    (t) => churn(t, { durationMs: churnMs, periodMs: 3_000 }).then(() => undefined),
  );
});
