/**
 * Every default number of tsmicro, named, each with the reason it has that value.
 * Durations are in milliseconds; sizes in bytes.
 */
export const DEFAULTS = Object.freeze({
  /**
   * Budget of a call when the caller sets none: go-micro v1–v4's 5 s, not v5's 30 s, so a hung hop
   * fails while a user still waits.
   */
  requestTimeoutMs: 5_000,
  /** Extra attempts after the first, each on a node not yet tried. */
  retries: 2,
  /** Base of go-micro's backoff `trunc(n^e) × base`. */
  backoffBaseMs: 100,
  /** Cap of a single backoff sleep (go-micro caps at 2 min; the budget usually cuts sooner). */
  backoffMaxMs: 120_000,
  /**
   * How long a native connection may take to be established before its calls fail as refused
   * (grpc-js channels run their own connect backoff and are bounded by each call's deadline).
   */
  dialTimeoutMs: 5_000,
  /**
   * After a dual-path node's native port refused a connection, how long calls to it go over
   * gRPC before native is tried again: long enough that a port a firewall or a container's port
   * mapping never lets through costs one failed connect per half minute, short enough that a
   * path that comes back is used again soon.
   */
  nativeRetryMs: 30_000,

  /**
   * Registration TTL: go-micro's server package default; never gRPC's 0, which leaves crashed nodes
   * registered forever.
   */
  registerTtlMs: 90_000,
  /** Heartbeat: re-register three times per TTL so one missed beat does not expire the node. */
  registerIntervalMs: 30_000,
  /** Attempts to register at start before start fails (go-micro: 3). */
  registerAttempts: 3,

  /**
   * How long in-flight requests may run after stop() before the listener is closed hard (go-micro:
   * 1 s, too short for real handlers).
   */
  stopTimeoutMs: 10_000,
  /**
   * Pause between deregistering and closing the listener on stop(): watch-fed client caches (Consul
   * blocking query, etcd watch, local fs event) drop a node within milliseconds; 1 s covers a
   * loaded host. go-micro has none.
   */
  drainDelayMs: 1_000,

  /** Health: longest a check may run before it counts as failed (go-micro's health package: 5 s). */
  healthCheckTimeoutMs: 5_000,
  /** Health: pause between two runs of a check (Kubernetes' default probe period, 10 s). */
  healthCheckIntervalMs: 10_000,
  /**
   * Server: a handler's crash (a plain Error, not a MicroError) is logged with its stack at most
   * once per endpoint in this window; the rest are counted and the count goes with the next one
   * logged, so a handler failing on every call cannot flood the log.
   */
  handlerErrorLogIntervalMs: 10_000,

  /**
   * Consul: timeout of one non-blocking request to the agent, so an unreachable agent fails a start
   * instead of hanging it.
   */
  consulRequestTimeoutMs: 10_000,
  /**
   * Consul: longest wait of a watch's blocking query (Consul's own default is 5 min, its cap 10
   * min).
   */
  consulWatchWaitMs: 300_000,
  /** Consul: floor of `DeregisterCriticalServiceAfter` (Consul refuses less than 1 min). */
  consulMinDeregisterMs: 60_000,
  /**
   * Consul: added to the TTL for `DeregisterCriticalServiceAfter`, as go-micro does (max(ttl, 1
   * min) + 5 s).
   */
  consulDeregisterMarginMs: 5_000,

  /** etcd: key prefix of registry entries; go-micro's etcd registry uses the same. */
  etcdPrefix: '/micro/registry/',
  /**
   * etcd: timeout of one request (dial included), so an unreachable cluster fails a start instead
   * of hanging it.
   */
  etcdRequestTimeoutMs: 10_000,

  /**
   * Largest JSON Schema (compact JSON, bytes) an endpoint publishes in the registry; a larger one
   * is left out with a warning. Measured (docs/contracts.md, bench/registry-limits.ts): Consul 1.20
   * kept a 16 MiB tag, but logs a large-Raft-entry warning past 1 MiB per registration, and every
   * watch answer carries all tags again; etcd refuses a value (one node with all its endpoints)
   * over 1.5 MiB, and its client reads at most 4 MiB per range. Typical schemas are 130 B to 1 KB;
   * 4 KiB holds a flat object of about a hundred fields, and a node of 64 endpoints with both
   * schemas at the limit stays at 0.8 MiB of Consul tags and 0.5 MiB of etcd value.
   */
  registrySchemaMaxBytes: 4_096,

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

  /**
   * Selector cache: while the registry fails, stale nodes are served without asking it again for
   * this long (go-micro v5.13 `DefaultMinimumRetryInterval`), so a slow, failing registry does not
   * stall every call.
   */
  selectorMinRefreshMs: 5_000,
  /**
   * Consecutive transport faults that eject a node: go-micro's 2016 blacklist count; one or two can
   * be a blip (a restart, a dropped connection).
   */
  ejectAfterFaults: 3,
  /**
   * First ejection period: long enough for the registry to notice a dead process (local sweep 1 s,
   * Consul checks ~10 s), short enough that a recovered node soon gets traffic back.
   */
  ejectBaseMs: 10_000,
  /**
   * Longest ejection period (the period doubles per repeat offence): Envoy's `max_ejection_time`.
   */
  ejectMaxMs: 300_000,
  /**
   * Largest share of a service's nodes ejected at once, so a total outage still sends traffic (and
   * a bad client-side network cannot eject everything).
   */
  ejectMaxShare: 0.5,
  /**
   * Weight of the newest sample in a node's latency average: about the last ten calls matter, so a
   * slowed node shows within a few calls.
   */
  latencyEwmaAlpha: 0.2,
  /**
   * A node's latency average decays toward 0 with this time constant while it gets no attempts, so
   * a node once slow is tried again (Finagle's peak-EWMA decay, 10 s).
   */
  latencyDecayMs: 10_000,
  /**
   * Retry budget: retries may add at most this share of the client's calls (Finagle's and gRPC's 20
   * %), so a sick system is never sent more than 1.2× its load.
   */
  retryBudgetRatio: 0.2,
  /**
   * Retry budget floor: retries per second always allowed, so a quiet client still retries its rare
   * failures.
   */
  retryBudgetMinPerSec: 10,
  /** Window over which the retry budget counts calls and retries. */
  retryBudgetWindowMs: 10_000,
  /**
   * Hedge budget: hedges may add at most this share of the client's hedge-enabled calls. Hedging
   * at p95 sends about 5 % of calls twice; the cap keeps a service that slows down as a whole from
   * getting more than 1.05× its load from hedges (Finagle's backup requests cap it alike).
   */
  hedgeBudgetRatio: 0.05,
  /** Hedge budget floor: hedges per second always allowed, so a quiet client still hedges. */
  hedgeBudgetMinPerSec: 1,
  /**
   * Latencies kept per service+endpoint for percentile delays and adaptive limits: a thousand
   * calls put ten behind a p99.
   */
  latencyWindowSize: 1_000,
  /** Latencies a window needs before its percentiles are used: fewer say little about a tail. */
  latencyWindowMinSamples: 20,
  /** Service+endpoint pairs whose windows are kept; past it the oldest is dropped. */
  latencyWindowMaxKeys: 10_000,
  /**
   * Floor of an adaptive attempt limit: above the client's own event-loop pauses (GC, a busy
   * host), so a node that answered in time is not timed out; on a loaded 2-core machine the
   * client's loop paused 10 ms at its p99 (bench/tail.ts).
   */
  adaptiveTimeoutMinMs: 20,
  /**
   * Weight of a node whose metadata has no valid `weight` (weighted strategy): every node counts
   * alike.
   */
  nodeWeight: 1,
  /**
   * Native transport: ping a connection silent this long; short enough to find a dead peer behind a
   * NAT or load balancer well before its idle cut-off (often 60 s+).
   */
  nativeKeepaliveMs: 30_000,
  /**
   * Native transport: drop a connection whose ping is unanswered this long (gRPC's keepalive
   * timeout is 20 s).
   */
  nativeKeepaliveTimeoutMs: 20_000,
  /**
   * Most channels the gRPC pool keeps at once; past it the least recently used idle one is closed,
   * bounding sockets when a client talks to many nodes.
   */
  poolMaxChannels: 1_000,
});

/** The address a server listens on when none is given: loopback, any free port. */
export const DEFAULT_LISTEN_ADDRESS = '127.0.0.1:0';

/** Defaults of the standard wrappers (`tsmicro/wrappers/*`). Durations in ms. */
export const WRAPPER_DEFAULTS = Object.freeze({
  /**
   * Breaker: failures (as % of calls in the rolling window) that open it — opossum's and hystrix's
   * 50 %.
   */
  breakerErrorThresholdPercentage: 50,
  /**
   * Breaker: calls in the window before it may open at all, so one early failure cannot open it
   * (hystrix: 20; smaller services see fewer calls).
   */
  breakerVolumeThreshold: 5,
  /**
   * Breaker: how long it stays open before letting one probe through (hystrix's sleep window, 5 s).
   */
  breakerResetTimeoutMs: 5_000,
  /** Breaker: length of the rolling statistics window (opossum's and hystrix's 10 s). */
  breakerRollingWindowMs: 10_000,
  /** Bulkhead: concurrent calls or handlers per compartment (hystrix's max concurrent, 10). */
  bulkheadMaxConcurrent: 10,
  /**
   * Bulkhead: callers that may wait for a slot; more are refused at once so a backlog cannot grow
   * without bound.
   */
  bulkheadMaxQueue: 10,
  /**
   * Rate limit: distinct per-caller buckets kept before full (idle) ones are dropped, bounding
   * memory under many callers.
   */
  rateLimitMaxKeys: 10_000,
  /**
   * Auth: clock skew tolerated on a token's `exp`/`nbf`, so a caller whose clock runs a little
   * ahead or behind is not refused (JWT times are whole seconds; a few of them cover NTP drift).
   */
  authClockToleranceMs: 5_000,
  /** Metrics: latency histogram buckets in seconds — prom-client's defaults, 5 ms to 10 s. */
  metricsBucketsSeconds: Object.freeze([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
});

/** Defaults of the NATS broker (`tsmicro/broker/nats`). Durations in ms, sizes in bytes. */
export const NATS_DEFAULTS = Object.freeze({
  /** Server when neither the option nor `NATS_URL` is set: NATS's and go-micro's default. */
  url: 'nats://127.0.0.1:4222',
  /** First connect: how long to wait for the server before start() fails with 503. */
  connectTimeoutMs: 5_000,
  /** Reconnect backoff: first delay; doubles per failed attempt (with jitter) up to the max. */
  reconnectBaseMs: 250,
  /** Reconnect backoff cap: a restarted server is found within this after it is back. */
  reconnectMaxMs: 5_000,
  /**
   * Reconnect attempts before giving up; -1 = never: a long-running service must outlive any NATS
   * outage (nats.go gives up after 60, leaving a deaf service).
   */
  maxReconnectAttempts: -1,
  /**
   * Bytes of publishes held during an outage (nats.go's `ReconnectBufSize`, 8 MiB); past it publish
   * fails with 503. 0 = fail fast.
   */
  outageBufferBytes: 8 * 1024 * 1024,
  /**
   * JetStream: how long the server waits for an ack before redelivering (JetStream's own default,
   * 30 s).
   */
  ackWaitMs: 30_000,
  /**
   * JetStream: deliveries of one message before the server gives up; -1 = never, so nothing is lost
   * (a poison message is `term`ed when it is malformed).
   */
  maxDeliver: -1,
  /**
   * JetStream: delay before a message whose handler failed is redelivered, so a failing dependency
   * is not hammered.
   */
  redeliveryDelayMs: 1_000,
  /**
   * JetStream: messages pulled per batch by a durable subscriber; also bounds what a crash leaves
   * waiting for `ackWaitMs`.
   */
  pullBatch: 100,
  /** JetStream: how long a durable publish waits for the stream's ack before failing with 503. */
  publishTimeoutMs: 5_000,
});

/** Defaults of the embedded HTTP broker (`tsmicro/broker/http`). Durations in ms, sizes in bytes. */
export const HTTP_BROKER_DEFAULTS = Object.freeze({
  /** Where the broker listens: go-micro's `DefaultAddress`, loopback on a free port. */
  address: '127.0.0.1:0',
  /** Subscription entry TTL in the registry: go-micro's http broker `registerTTL` (1 min). */
  registerTtlMs: 60_000,
  /** Subscription re-registration: go-micro's `registerInterval` (30 s), two beats per TTL. */
  registerIntervalMs: 30_000,
  /**
   * How long a publish waits for one subscriber to answer (its handler included) before it fails
   * with 504: go-micro's HTTP client waits forever, which hangs a publisher behind a frozen peer.
   */
  deliveryTimeoutMs: 10_000,
  /**
   * How long a subscriber that could not be reached is left out of delivery while the registry
   * still lists it: one registration TTL, by when a dead one has expired from the registry.
   */
  deadNodeMs: 60_000,
});

/** Defaults of the mDNS registry (`tsmicro/registry/mdns`), go-micro's where it has one. */
export const MDNS_DEFAULTS = Object.freeze({
  /** The domain under which names live: go-micro's `mdnsDomain` (`<node>.<service>.micro.`). */
  domain: 'micro',
  /** The mDNS group and port (RFC 6762), as go-micro uses them over IPv4. */
  group: '224.0.0.251',
  port: 5353,
  /** TTL of the records when a registration gives none: go-micro's `defaultTTL` (120 s). */
  ttlMs: 120_000,
  /**
   * How long a lookup collects answers. go-micro waits 100 ms; a little more, because a peer on a
   * busy 2-core host may answer later than that, and a lookup is rare (the selector caches).
   */
  queryTimeoutMs: 300,
  /** Interval of the cache sweep: expiry, and the re-query of a node at 80 % of its TTL. */
  sweepMs: 1_000,
  /** Announcements of a new node: RFC 6762 §8.3 asks for at least two, one second apart. */
  announceIntervalMs: 1_000,
  /** At most one warning line per kind of skipped input in this window. */
  warnIntervalMs: 60_000,
  /**
   * Most nodes (and listed service names) held from the network: anyone on the LAN can announce
   * nodes, and a flood of made-up ones must not grow the process without bound.
   */
  maxHeard: 10_000,
});
