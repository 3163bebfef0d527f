import { describe, test } from 'node:test';
import { natsSkipReason } from '../helpers/nats.js';
import { skipReason } from '../helpers/servers.js';
import {
  churn,
  natsRestart,
  registryRestart,
  rollingDeploy,
  sigkill,
  sigstop,
} from './scenarios.js';

// Short versions of the chaos scenarios (about 5 s of load each); `npm run test:chaos` runs them
// longer, plus the 10-minute churn. Multi-process, loopback only, bounded in count and time.
const consulSkip = await skipReason('consul');
const natsSkip = natsSkipReason();

describe('chaos (short)', () => {
  test('a node SIGKILLed under load', (t) => sigkill(t).then(() => undefined));
  test('a node SIGSTOPped (hung) then resumed', (t) => sigstop(t).then(() => undefined));
  test('a rolling deploy', (t) => rollingDeploy(t).then(() => undefined));
  test('the registry (Consul) stopped and restarted', { skip: consulSkip }, (t) =>
    registryRestart(t).then(() => undefined),
  );
  test('NATS restarted under durable publishes', { skip: natsSkip }, (t) =>
    natsRestart(t).then(() => undefined),
  );
});

test('churn: nodes joining and leaving every 1.5 s for 15 s leave the client flat', (t) =>
  churn(t, { durationMs: 15_000, periodMs: 1_500, poolIdleMs: 2_000 }).then(() => undefined));
