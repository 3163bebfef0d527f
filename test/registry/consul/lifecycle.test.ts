import { consulRegistry } from '../../../src/registry/consul/consul.js';
import { skipReason, startConsul } from '../../helpers/servers.js';
import { lifecycleScenarios } from '../../server/lifecycle-scenarios.js';

lifecycleScenarios({
  kind: 'consul',
  skip: await skipReason('consul'),
  start: startConsul,
  // A short request timeout: the scenarios kill the agent, and a dead one must fail fast.
  registry: (address) => consulRegistry({ address, requestTimeoutMs: 2_000 }),
});
