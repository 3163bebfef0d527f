import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConsumerMessages, JetStreamClient, JetStreamManager, NatsError } from 'nats';
import type { Logger } from '../../logger.js';
import { AckPolicy, ConsumerEvents, DeliverPolicy, nanos } from './nats-package.js';

/**
 * JetStream side of the NATS broker: the stream that stores durable topics, one durable pull
 * consumer per (queue group, topic), and the loop that acks a message only after its handler
 * succeeded. Members of a queue group share the consumer, so the group is load-balanced and
 * keeps its place in the stream across restarts and crashes.
 */

/** Durable (at-least-once) delivery on NATS JetStream. See {@link NatsBrokerOptions.jetstream}. */
export interface NatsDurableOptions {
  /** JetStream stream holding the durable topics; created (or its subjects extended) on connect. */
  stream: string;
  /**
   * Subjects the stream stores; NATS wildcards allowed (`orders.*`, `orders.>`). Publishes to a
   * matching topic wait for the stream's ack; queue subscriptions on one are durable.
   */
  subjects: readonly string[];
  /** How long the server waits for an ack before redelivering, in ms. @defaultValue 30_000 */
  ackWaitMs?: number;
  /** Deliveries of one message before the server gives up; -1 = never. @defaultValue -1 */
  maxDeliver?: number;
  /** Delay before redelivering a message whose handler failed, in ms. @defaultValue 1_000 */
  redeliveryDelayMs?: number;
  /** Messages pulled per batch by a durable subscriber. @defaultValue 100 */
  pullBatch?: number;
  /** How long a durable publish waits for the stream's ack, in ms. @defaultValue 5_000 */
  publishTimeoutMs?: number;
}

/** What to tell the server about one handled message. */
export type Outcome = 'ack' | 'nak' | 'term';

/** Resolved durable options. */
export type DurableConfig = Required<NatsDurableOptions>;

/** True when `subject` matches NATS subject `pattern` (`*` = one token, `>` = the rest). */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

/**
 * Durable consumer name for a queue group on a topic. Names may not hold `.`, `*`, `>` or
 * spaces, so those become `_`; a hash of the exact pair keeps `a.b` and `a_b` apart.
 */
export function durableName(queue: string, topic: string): string {
  const clean = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '_');
  const hash = createHash('sha256').update(`${queue}\u0000${topic}`).digest('hex').slice(0, 8);
  return `${clean(queue)}__${clean(topic)}__${hash}`;
}

/** Creates the stream, or adds missing subjects to it. */
export async function ensureStream(jsm: JetStreamManager, cfg: DurableConfig): Promise<void> {
  try {
    const info = await jsm.streams.info(cfg.stream);
    const have = new Set(info.config.subjects ?? []);
    const missing = cfg.subjects.filter((s) => !have.has(s));
    if (missing.length > 0)
      await jsm.streams.update(cfg.stream, { subjects: [...have, ...missing] });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.streams.add({ name: cfg.stream, subjects: [...cfg.subjects] });
  }
}

/**
 * Creates the durable consumer unless it exists. Explicit acks: nothing is acked before its handler
 * succeeded.
 */
async function ensureConsumer(
  jsm: JetStreamManager,
  cfg: DurableConfig,
  name: string,
  topic: string,
): Promise<void> {
  try {
    await jsm.consumers.info(cfg.stream, name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.consumers.add(cfg.stream, {
      durable_name: name,
      filter_subject: topic,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(cfg.ackWaitMs),
      max_deliver: cfg.maxDeliver,
    });
  }
}

/** A running durable subscription. */
export interface DurableLoop {
  /** Stops pulling; resolves once the message being handled (if any) is settled. */
  stop(): Promise<void>;
}

/**
 * Ensures stream and consumer (failing like a subscribe would), then pulls and handles messages
 * one at a time until stopped. The loop outlives errors: when the consumer or stream vanishes
 * (a NATS server restarted without its store) it is recreated, with backoff between tries.
 */
export async function startDurable(
  js: JetStreamClient,
  jsm: JetStreamManager,
  cfg: DurableConfig,
  topic: string,
  queue: string,
  handle: (data: Uint8Array, redelivered: boolean) => Promise<Outcome>,
  logger: Logger,
  retryMaxMs: number,
): Promise<DurableLoop> {
  const name = durableName(queue, topic);
  await ensureStream(jsm, cfg);
  await ensureConsumer(jsm, cfg, name, topic);
  const stopped = new AbortController();
  let current: ConsumerMessages | undefined;

  const watch = async (messages: ConsumerMessages): Promise<void> => {
    for await (const s of await messages.status()) {
      if (
        s.type === ConsumerEvents.ConsumerNotFound ||
        s.type === ConsumerEvents.StreamNotFound ||
        s.type === ConsumerEvents.ConsumerDeleted
      ) {
        logger.warn(
          { topic, queue, consumer: name, event: s.type },
          'durable consumer missing; recreating it',
        );
        await ensureStream(jsm, cfg)
          .then(() => ensureConsumer(jsm, cfg, name, topic))
          .catch((err: unknown) => {
            logger.warn(
              { err, topic, consumer: name },
              'recreating the durable consumer failed; will retry',
            );
          });
      }
    }
  };

  const loop = (async () => {
    for (let attempt = 0; !stopped.signal.aborted; attempt++) {
      try {
        const consumer = await js.consumers.get(cfg.stream, name);
        current = await consumer.consume({ max_messages: cfg.pullBatch });
        void watch(current).catch(() => {});
        for await (const m of current) {
          const outcome = await handle(m.data, m.redelivered);
          if (outcome === 'ack') m.ack();
          else if (outcome === 'term') m.term();
          else m.nak(cfg.redeliveryDelayMs);
          attempt = 0;
        }
      } catch (err) {
        if (stopped.signal.aborted) break;
        logger.warn({ err, topic, consumer: name }, 'durable subscription interrupted; resuming');
        await ensureStream(jsm, cfg)
          .then(() => ensureConsumer(jsm, cfg, name, topic))
          .catch(() => {});
      }
      if (stopped.signal.aborted) break;
      await sleep(Math.min(retryMaxMs, 100 * 2 ** Math.min(attempt, 10)), undefined, {
        signal: stopped.signal,
      }).catch(() => {});
    }
  })();

  return {
    async stop() {
      stopped.abort();
      await current?.close().catch(() => {});
      await loop;
    },
  };
}

function isNotFound(err: unknown): boolean {
  const e = err as Partial<NatsError>;
  return e?.api_error?.code === 404 || e?.code === '404';
}
