import { importPeers } from '../../internal/optional-peer.js';

/**
 * The values the NATS broker's files use from `nats`, an optional peer package: loaded here once,
 * so importing `tsmicro/broker/nats` without it fails with one clear error (see importPeers).
 * Types come from `nats` directly (`import type`), which costs nothing at run time.
 */
export const {
  AckPolicy,
  ConsumerEvents,
  DeliverPolicy,
  ErrorCode,
  Events,
  connect,
  nanos,
  nkeyAuthenticator,
} = (await importPeers('tsmicro/broker/nats', { nats: () => import('nats') })).nats;
