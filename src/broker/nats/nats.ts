import type {
  NatsConnection,
  JetStreamClient,
  JetStreamManager,
  Subscription as NatsSubscription,
} from 'nats';
import { InvalidOptionError, MicroError } from '../../errors.js';
import { checkString } from '../../options.js';
import type {
  Broker,
  BrokerHandler,
  BrokerMessage,
  SubscribeOptions,
  Subscription,
} from '../broker.js';
import { decodeEnvelope, encodeEnvelope } from '../envelope.js';
import { ensureStream, startDurable, subjectMatches, type Outcome } from './durable.js';
import { Events, connect } from './nats-package.js';
import { isAuthError, natsAuth, resolveNatsOptions, type NatsBrokerOptions } from './options.js';
import { BROKER_ERROR_ID, OutageGate } from './outage.js';

export type { NatsDurableOptions } from './durable.js';
export type { NatsAuthOptions, NatsBrokerOptions } from './options.js';
export { BROKER_ERROR_ID } from './outage.js';

/** Counters of a {@link NatsBroker}, since it was created. */
export interface NatsBrokerStats {
  /** Publishes the server accepted. */
  published: number;
  /** Messages whose handler succeeded. */
  delivered: number;
  /**
   * Messages that were not go-micro envelopes, or that a handler rejected as malformed (400):
   * logged and skipped, never redelivered.
   */
  malformed: number;
  /** Handler failures (durable mode: each is redelivered). */
  handlerErrors: number;
  /** Durable deliveries that were redeliveries. */
  redelivered: number;
  /** Times the connection dropped. */
  disconnects: number;
  /** Times it came back. */
  reconnects: number;
}

/** The NATS broker: a {@link Broker} plus its counters. */
export interface NatsBroker extends Broker {
  /** A snapshot of the counters. */
  stats(): NatsBrokerStats;
  /** A round trip to the server; 503 while the connection is down (the `broker` health check). */
  ping(): Promise<void>;
}

interface Conn {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager | undefined;
  gate: OutageGate;
}

/**
 * go-micro's NATS broker: subject = topic, queue groups for load-balanced subscribers, payload
 * = go-micro's JSON envelope, so Go services on the same NATS exchange events with us. Adds
 * what go-micro leaves out: bounded outage buffering that never drops silently, reconnect
 * backoff, and opt-in durable delivery on JetStream. Each subscription handles its messages
 * one at a time, in order.
 */
export function natsBroker(opts: NatsBrokerOptions = {}): NatsBroker {
  const o = resolveNatsOptions(opts);
  const stats: NatsBrokerStats = {
    published: 0,
    delivered: 0,
    malformed: 0,
    handlerErrors: 0,
    redelivered: 0,
    disconnects: 0,
    reconnects: 0,
  };
  const subs = new Set<{ stop(): Promise<void> }>();
  let conn: Promise<Conn> | undefined;

  function connected(): Promise<Conn> {
    conn ??= open().catch((err: unknown) => {
      conn = undefined;
      if (isAuthError(err))
        throw new MicroError(
          BROKER_ERROR_ID,
          401,
          `NATS at ${o.servers.join(', ')} refused the credentials: ${(err as Error).message}`,
          undefined,
          { cause: err },
        );
      throw MicroError.is(err)
        ? err
        : new MicroError(
            BROKER_ERROR_ID,
            503,
            `cannot connect to NATS at ${o.servers.join(', ')}: ${(err as Error).message}`,
            undefined,
            { cause: err },
          );
    });
    return conn;
  }

  async function open(): Promise<Conn> {
    let attempt = 0;
    const nc = await connect({
      servers: o.servers,
      ...(o.name !== undefined ? { name: o.name } : {}),
      timeout: o.connectTimeoutMs,
      maxReconnectAttempts: o.maxReconnectAttempts,
      ...natsAuth(o.auth),
      // Exponential backoff with jitter instead of nats.js's fixed wait, so a fleet does not
      // reconnect in lockstep and a long outage is not polled every 2 s forever.
      reconnectDelayHandler: () => {
        const d = Math.min(o.reconnectMaxMs, o.reconnectBaseMs * 2 ** Math.min(attempt++, 20));
        return d / 2 + Math.random() * (d / 2);
      },
    });
    const gate = new OutageGate(o.outageBufferBytes);
    const c: Conn = {
      nc,
      js: nc.jetstream(),
      jsm: o.durable ? await nc.jetstreamManager() : undefined,
      gate,
    };
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === Events.Disconnect) {
          stats.disconnects++;
          gate.down();
          o.logger.warn({ server: s.data }, 'NATS connection lost; reconnecting');
        } else if (s.type === Events.Reconnect) {
          attempt = 0;
          stats.reconnects++;
          o.logger.info({ server: s.data }, 'NATS connection restored');
          void gate.reconnected(
            (topic, data) => nc.publish(topic, data),
            () => nc.flush(),
          );
        } else if (s.type === Events.Error) {
          o.logger.warn({ err: s.data }, 'NATS reported an error');
        }
      }
    })().catch(() => {});
    const self = conn;
    void nc.closed().then((err) => {
      gate.close(err ? err.message : 'disconnected');
      if (err)
        o.logger.error(
          { err },
          'NATS connection closed for good; the broker will reconnect on next use',
        );
      // Only forget this connection, never a newer one opened after a disconnect().
      if (conn === self) conn = undefined;
    });
    if (c.jsm && o.durable) {
      await ensureStream(c.jsm, o.durable).catch(async (err: unknown) => {
        await nc.close();
        throw new MicroError(
          BROKER_ERROR_ID,
          503,
          `cannot set up JetStream stream ${o.durable!.stream}: ${(err as Error).message}`,
          undefined,
          { cause: err },
        );
      });
    }
    return c;
  }

  const isDurable = (topic: string): boolean =>
    o.durable !== undefined && o.durable.subjects.some((p) => subjectMatches(p, topic));

  /** Decodes and runs one message; what the server should do with it. */
  async function handleOne(
    data: Uint8Array,
    topic: string,
    handler: BrokerHandler,
    redelivered: boolean,
  ): Promise<Outcome> {
    if (redelivered) stats.redelivered++;
    let message: BrokerMessage;
    try {
      message = decodeEnvelope(data);
    } catch (err) {
      stats.malformed++;
      o.logger.warn({ err, topic, bytes: data.byteLength }, 'skipped a malformed message');
      return 'term';
    }
    try {
      await handler(message, topic);
      stats.delivered++;
      return 'ack';
    } catch (err) {
      // A message its subscriber cannot decode will not decode next time either: no redelivery.
      if (MicroError.is(err, 400)) {
        stats.malformed++;
        o.logger.warn({ err, topic }, 'subscriber rejected a malformed message');
        return 'term';
      }
      stats.handlerErrors++;
      o.logger.debug({ err, topic }, 'handler failed');
      try {
        o.onError?.(err, topic);
      } catch {
        /* a failing observer must not end the subscription */
      }
      return 'nak';
    }
  }

  function subscribeCore(
    nc: NatsConnection,
    topic: string,
    queue: string | undefined,
    handler: BrokerHandler,
  ): { stop(): Promise<void> } {
    const sub: NatsSubscription = nc.subscribe(topic, queue !== undefined ? { queue } : {});
    const loop = (async () => {
      for await (const m of sub) await handleOne(m.data, topic, handler, false);
    })();
    return {
      async stop() {
        sub.unsubscribe();
        await loop.catch(() => {});
      },
    };
  }

  return {
    name: 'nats',
    async connect() {
      await connected();
    },

    async disconnect() {
      await Promise.allSettled([...subs].map((s) => s.stop()));
      subs.clear();
      const current = conn;
      conn = undefined;
      if (!current) return;
      const c = await current.catch(() => undefined);
      if (!c) return;
      if (c.gate.up) await c.nc.flush().catch(() => {});
      await c.nc.close();
    },

    async ping() {
      const c = await connected();
      if (!c.gate.up)
        throw MicroError.unavailable(BROKER_ERROR_ID, 'NATS connection lost; reconnecting');
      // A round trip: a connection the server stopped answering fails here, not only a closed one.
      await c.nc.flush();
    },

    async publish(topic: string, message: BrokerMessage) {
      const c = await connected();
      const data = encodeEnvelope(message);
      try {
        if (isDurable(topic)) {
          // A durable publish is confirmed by the stream's ack, which cannot come while down.
          if (!c.gate.up)
            throw MicroError.unavailable(
              BROKER_ERROR_ID,
              `cannot publish to ${topic}: NATS is unreachable and a durable publish needs the stream's ack`,
            );
          await c.js.publish(topic, data, { timeout: o.durable!.publishTimeoutMs });
        } else if (c.gate.up) {
          c.nc.publish(topic, data);
        } else {
          await c.gate.hold(topic, data);
        }
      } catch (err) {
        if (MicroError.is(err)) throw err;
        const code = (err as { code?: string }).code === 'MAX_PAYLOAD_EXCEEDED' ? 413 : 503;
        throw new MicroError(
          BROKER_ERROR_ID,
          code,
          `publish to ${topic} failed: ${(err as Error).message}`,
          undefined,
          { cause: err },
        );
      }
      stats.published++;
    },

    async subscribe(
      topic: string,
      handler: BrokerHandler,
      subOpts: SubscribeOptions = {},
    ): Promise<Subscription> {
      if (!checkString('subscribe.topic', topic))
        throw new InvalidOptionError('subscribe.topic', 'a topic is required');
      const queue = checkString('subscribe.queue', subOpts.queue);
      const c = await connected();
      let running: { stop(): Promise<void> };
      if (queue !== undefined && isDurable(topic)) {
        try {
          running = await startDurable(
            c.js,
            c.jsm!,
            o.durable!,
            topic,
            queue,
            (data, re) => handleOne(data, topic, handler, re),
            o.logger,
            o.reconnectMaxMs,
          );
        } catch (err) {
          throw new MicroError(
            BROKER_ERROR_ID,
            503,
            `cannot subscribe durably to ${topic}: ${(err as Error).message}`,
            undefined,
            { cause: err },
          );
        }
      } else {
        running = subscribeCore(c.nc, topic, queue, handler);
        // Resolve once the server has the interest, so a publish right after is not missed.
        if (c.gate.up) await c.nc.flush().catch(() => {});
      }
      subs.add(running);
      return {
        topic,
        ...(queue !== undefined ? { queue } : {}),
        async unsubscribe() {
          subs.delete(running);
          await running.stop();
        },
      };
    },

    stats: () => ({ ...stats }),
  };
}
