import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry as PromRegistry } from 'prom-client';
import type { CallOptions, CallWrapper, ClientWrapper, PublishOptions } from '../client/client.js';
import type { HedgeEvent } from '../client/tail-options.js';
import { WRAPPER_DEFAULTS } from '../defaults.js';
import { InvalidOptionError } from '../errors.js';
import { importPeers } from '../internal/optional-peer.js';
import type { EjectionEvent } from '../selector/registry-selector.js';
import { checkComponent, checkString } from '../options.js';
import type { HandlerWrapper, SubscriberWrapper } from '../server/server.js';
import { attemptCounter, secondsSince, type BreakerState } from './shared.js';

const { Counter, Gauge, Histogram, Registry, Summary } = (
  await importPeers('tsmicro/wrappers/metrics', { 'prom-client': () => import('prom-client') })
)['prom-client'];

/** Options for {@link prometheusMetrics}. */
export interface MetricsOptions {
  /**
   * The prom-client registry the metrics are registered in. @defaultValue a new `Registry` of its
   * own (never prom-client's global one)
   */
  registry?: PromRegistry;
  /**
   * `micro_version` label of the server metrics. @defaultValue the version of the service
   * handling the request (`HandlerContext.version`)
   */
  version?: string;
  /**
   * `micro_id` label of the server metrics. @defaultValue the node id of the server handling the
   * request (`HandlerContext.nodeId`)
   */
  id?: string;
  /** Latency histogram buckets, seconds. @defaultValue prom-client's, 5 ms … 10 s */
  buckets?: readonly number[];
}

/** Metrics wrappers sharing one registry, and a way to expose it. */
export interface Metrics {
  /** Counts calls, their latency and the calls in flight per service; counts publishes. */
  readonly client: ClientWrapper;
  /** Counts attempts, and retries (attempts after a call's first). */
  readonly call: CallWrapper;
  /**
   * go-micro's server metrics: `micro_request_total`, `micro_latency_microseconds`,
   * `micro_request_duration_seconds`; plus handlers in flight.
   */
  readonly handler: HandlerWrapper;
  /** Counts delivered events per topic and outcome. */
  readonly subscriber: SubscriberWrapper;
  /** Where the metrics live. */
  readonly registry: PromRegistry;
  /**
   * Records a breaker's state (0 closed, 1 half-open, 2 open): pass as `circuitBreaker({
   * onStateChange: metrics.breakerState })`.
   */
  readonly breakerState: (key: string, state: BreakerState) => void;
  /**
   * Counts hedges sent and hedges that won their call: pass as `createService({ onHedge:
   * metrics.hedge })` (or `createClient`). Hedges are attempts after a call's first, so
   * `tsmicro_client_retries_total` counts them too.
   */
  readonly hedge: (event: HedgeEvent) => void;
  /** Counts node ejections: pass as `registrySelector({ registry, onEject: metrics.ejection })`. */
  readonly ejection: (event: EjectionEvent) => void;
  /**
   * A `node:http` request listener answering every request with the metrics in Prometheus text
   * format.
   */
  metricsHandler(): (req: IncomingMessage, res: ServerResponse) => void;
}

const BREAKER_STATE_VALUE: Readonly<Record<BreakerState, number>> = {
  closed: 0,
  'half-open': 1,
  open: 2,
};

/**
 * Prometheus metrics on prom-client (go-micro's `wrapper/monitoring/prometheus`): go-micro's names
 * where it has them (`micro_request_total`, `micro_latency_microseconds`,
 * `micro_request_duration_seconds`, `micro_` labels), `tsmicro_*` for what go-micro does not
 * measure (client side, retries, in flight, breaker state, ejections).
 */
export function prometheusMetrics(opts: MetricsOptions = {}): Metrics {
  const registry =
    checkComponent('registry', opts.registry, ['metrics', 'registerMetric']) ?? new Registry();
  const buckets = [...(opts.buckets ?? WRAPPER_DEFAULTS.metricsBucketsSeconds)];
  if (buckets.some((b) => typeof b !== 'number' || !(b > 0)))
    throw new InvalidOptionError('buckets', 'expected positive numbers of seconds');
  // Undefined: each request's own service says (one wrapper may serve several services).
  const version = checkString('version', opts.version);
  const id = checkString('id', opts.id);
  const registers = [registry];

  const serverLabels = ['micro_name', 'micro_version', 'micro_id', 'micro_endpoint'] as const;
  const requests = new Counter({
    name: 'micro_request_total',
    help: 'Requests handled, by endpoint and outcome.',
    labelNames: [...serverLabels, 'micro_status'],
    registers,
  });
  // go-micro keeps this summary beside the histogram; dashboards built on it keep working.
  const latency = new Summary({
    name: 'micro_latency_microseconds',
    help: 'Time to handle a request, microseconds.',
    labelNames: serverLabels,
    registers,
  });
  const duration = new Histogram({
    name: 'micro_request_duration_seconds',
    help: 'Time to handle a request, seconds.',
    labelNames: serverLabels,
    buckets,
    registers,
  });
  const serverInFlight = new Gauge({
    name: 'tsmicro_server_in_flight',
    help: 'Requests being handled.',
    labelNames: ['micro_name', 'micro_endpoint'],
    registers,
  });
  const events = new Counter({
    name: 'tsmicro_subscriber_messages_total',
    help: 'Events delivered to subscribers, by topic and outcome.',
    labelNames: ['micro_topic', 'micro_status'],
    registers,
  });

  const clientLabels = ['micro_service', 'micro_endpoint'] as const;
  const calls = new Counter({
    name: 'tsmicro_client_request_total',
    help: 'Calls made, by service, endpoint and outcome.',
    labelNames: [...clientLabels, 'micro_status'],
    registers,
  });
  const callDuration = new Histogram({
    name: 'tsmicro_client_request_duration_seconds',
    help: 'Time of a whole call including retries, seconds.',
    labelNames: clientLabels,
    buckets,
    registers,
  });
  const clientInFlight = new Gauge({
    name: 'tsmicro_client_in_flight',
    help: 'Calls in flight, by service.',
    labelNames: ['micro_service'],
    registers,
  });
  const attempts = new Counter({
    name: 'tsmicro_client_attempts_total',
    help: 'Attempts sent (first tries and retries).',
    labelNames: clientLabels,
    registers,
  });
  const retries = new Counter({
    name: 'tsmicro_client_retries_total',
    help: 'Attempts after the first of a call.',
    labelNames: clientLabels,
    registers,
  });
  const hedges = new Counter({
    name: 'tsmicro_client_hedges_total',
    help: 'Hedged attempts sent (a call not answered in time, sent to another node too).',
    labelNames: clientLabels,
    registers,
  });
  const hedgeWins = new Counter({
    name: 'tsmicro_client_hedge_wins_total',
    help: 'Calls answered by a hedged attempt rather than the first.',
    labelNames: clientLabels,
    registers,
  });
  const publishes = new Counter({
    name: 'tsmicro_publish_total',
    help: 'Events published, by topic and outcome.',
    labelNames: ['micro_topic', 'micro_status'],
    registers,
  });
  const ejections = new Counter({
    name: 'tsmicro_selector_ejections_total',
    help: 'Nodes taken out of rotation after repeated transport faults.',
    labelNames: ['micro_service'],
    registers,
  });
  const breakers = new Gauge({
    name: 'tsmicro_breaker_state',
    help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open.',
    labelNames: ['breaker'],
    registers,
  });
  const attemptOf = attemptCounter();

  /** Awaits `work`, then counts it under `success` or `failure`. */
  async function outcome<T>(
    work: Promise<T>,
    count: (status: 'success' | 'failure') => void,
  ): Promise<T> {
    try {
      const result = await work;
      count('success');
      return result;
    } catch (err) {
      count('failure');
      throw err;
    }
  }

  return {
    registry,
    client: (next) => ({
      async call<Res, Req>(
        service: string,
        endpoint: string,
        request: Req,
        callOpts?: CallOptions,
      ): Promise<Res> {
        const start = performance.now();
        clientInFlight.inc({ micro_service: service });
        try {
          return await outcome(next.call<Res, Req>(service, endpoint, request, callOpts), (s) =>
            calls.inc({ micro_service: service, micro_endpoint: endpoint, micro_status: s }),
          );
        } finally {
          clientInFlight.dec({ micro_service: service });
          callDuration.observe(
            { micro_service: service, micro_endpoint: endpoint },
            secondsSince(start),
          );
        }
      },
      stream: (service, endpoint, o) => next.stream(service, endpoint, o),
      publish: (topic: string, message: unknown, o?: PublishOptions) =>
        outcome(next.publish(topic, message, o), (s) =>
          publishes.inc({ micro_topic: topic, micro_status: s }),
        ),
    }),
    call: (next) => (ctx, node, req, o) => {
      const labels = { micro_service: req.service, micro_endpoint: req.endpoint };
      attempts.inc(labels);
      if (attemptOf(req) > 1) retries.inc(labels);
      return next(ctx, node, req, o);
    },
    handler: (next) => async (req, ctx) => {
      const labels = {
        micro_name: ctx.service,
        micro_version: version ?? ctx.version,
        micro_id: id ?? ctx.nodeId,
        micro_endpoint: ctx.endpoint,
      };
      const start = performance.now();
      serverInFlight.inc({ micro_name: ctx.service, micro_endpoint: ctx.endpoint });
      try {
        return await outcome(next(req, ctx), (s) => requests.inc({ ...labels, micro_status: s }));
      } finally {
        serverInFlight.dec({ micro_name: ctx.service, micro_endpoint: ctx.endpoint });
        const seconds = secondsSince(start);
        duration.observe(labels, seconds);
        latency.observe(labels, seconds * 1e6);
      }
    },
    subscriber: (next) => (msg, ctx) =>
      outcome(next(msg, ctx), (s) => events.inc({ micro_topic: ctx.topic, micro_status: s })),
    breakerState: (key, state) => breakers.set({ breaker: key }, BREAKER_STATE_VALUE[state]),
    ejection: (e) => ejections.inc({ micro_service: e.service }),
    hedge: (e) =>
      (e.kind === 'won' ? hedgeWins : hedges).inc({
        micro_service: e.service,
        micro_endpoint: e.endpoint,
      }),
    metricsHandler: () => (_req, res) => {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(err));
        },
      );
    },
  };
}
