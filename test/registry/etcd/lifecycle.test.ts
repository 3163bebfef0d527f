import { etcdRegistry } from '../../../src/registry/etcd/etcd.js';
import { skipReason, startEtcd } from '../../helpers/servers.js';
import { lifecycleScenarios } from '../../server/lifecycle-scenarios.js';

lifecycleScenarios({
  kind: 'etcd',
  skip: await skipReason('etcd'),
  start: startEtcd,
  // A short request timeout: the scenarios kill the cluster, and a dead one must fail fast.
  registry: (endpoints) => etcdRegistry({ endpoints, requestTimeoutMs: 2_000 }),
});
