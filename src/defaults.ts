/**
 * Every default number of tsmicro, named, each with the reason it has that value.
 * Durations are in milliseconds; sizes in bytes.
 */
export const DEFAULTS = Object.freeze({
  /** Budget of a call when the caller sets none: go-micro v1–v4's 5 s, not v5's 30 s, so a hung hop fails while a user still waits. */
  requestTimeoutMs: 5_000,
  /** Extra attempts after the first, each on a node not yet tried. */
  retries: 2,
  /** Base of go-micro's backoff `trunc(n^e) × base`. */
  backoffBaseMs: 100,
  /** Cap of a single backoff sleep (go-micro caps at 2 min; the budget usually cuts sooner). */
  backoffMaxMs: 120_000,
  /** How long a dial may take before the attempt counts as a transport fault. */
  dialTimeoutMs: 5_000,

  /** Registration TTL: go-micro's server package default; never gRPC's 0, which leaves crashed nodes registered forever. */
  registerTtlMs: 90_000,
  /** Heartbeat: re-register three times per TTL so one missed beat does not expire the node. */
  registerIntervalMs: 30_000,
  /** Attempts to register at start before start fails (go-micro: 3). */
  registerAttempts: 3,

  /** How long in-flight requests may run after stop() before the listener is closed hard (go-micro: 1 s, too short for real handlers). */
  stopTimeoutMs: 10_000,

  /** Selector cache entry lifetime without a watch update (go-micro registry cache: 1 min). */
  selectorCacheTtlMs: 60_000,

  /** Largest message either side sends or accepts: gRPC's and go-micro's 4 MiB. */
  maxMessageBytes: 4 * 1024 * 1024,
  /** Channels to one address close after this long unused (go-micro pool TTL: 1 min). */
  poolIdleMs: 60_000,

  /** Local registry: how often watchers rescan for expired entries and dead owner processes. */
  localSweepMs: 1_000,
  /** Local registry: how long fs events are coalesced before a rescan. */
  localDebounceMs: 15,
});

/** The address a server listens on when none is given: loopback, any free port. */
export const DEFAULT_LISTEN_ADDRESS = '127.0.0.1:0';
