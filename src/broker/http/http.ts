import { randomUUID } from 'node:crypto';
import { DEFAULTS } from '../../defaults.js';
import { InvalidOptionError, MicroError } from '../../errors.js';
import { advertisable } from '../../internal/net.js';
import { checkString } from '../../options.js';
import type { Node, Service } from '../../registry/registry.js';
import { ServiceCache } from '../../selector/cache.js';
import type {
  Broker,
  BrokerHandler,
  BrokerMessage,
  SubscribeOptions,
  Subscription,
} from '../broker.js';
import { encodeEnvelope } from '../envelope.js';
import { BROKER_ERROR_ID } from '../nats/outage.js';
import { DeadNodes } from './dead-nodes.js';
import { resolveHttpBrokerOptions, type HttpBrokerOptions } from './options.js';
import { EnvelopeReceiver, type Route } from './receiver.js';
import { EnvelopeSender } from './sender.js';
import {
  BROKER_SERVICE,
  TOPIC_HEADER,
  deliveryGroups,
  subscriptionEntry,
  type DeliveryGroup,
} from './wire.js';

export type { HttpBrokerOptions } from './options.js';
export { BROADCAST_VERSION, BROKER_SERVICE } from './wire.js';

/** Counters of an {@link HttpBroker}, since it was created. */
export interface HttpBrokerStats {
  /** Publishes that resolved: every target subscriber accepted the message (or there was none). */
  published: number;
  /** Messages this broker's handlers accepted. */
  delivered: number;
  /**
   * Requests to this broker that were not go-micro envelopes, and messages a handler rejected as
   * malformed (400): answered 400, never retried.
   */
  malformed: number;
  /** Messages a handler here rejected (answered 500 to the publisher). */
  handlerErrors: number;
  /** Deliveries that found a registered subscriber unreachable. */
  unreachable: number;
}

/** The embedded HTTP broker: a {@link Broker} plus where it listens and its counters. */
export interface HttpBroker extends Broker {
  /** The `host:port` subscriptions are registered with; undefined until the first subscribe. */
  readonly address: string | undefined;
  /** A snapshot of the counters. */
  stats(): HttpBrokerStats;
}

interface Sub extends Route {
  entry: Service;
  /** Being deregistered: still answered, no longer renewed. */
  leaving?: boolean;
}

/** Why one delivery group did not take the message. */
interface GroupFailure {
  error: MicroError;
  /** Names the subscriber or queue group, for the publish error. */
  who: string;
}

/**
 * The embedded broker, on go-micro's HTTP broker wire: each subscription listens on this
 * process's broker port and registers itself in the registry as service `micro.http.broker`
 * (version = its queue group, or `ff.http.broadcast`); a publisher looks them up and POSTs the
 * JSON envelope to each broadcast subscriber and to one member of each queue group. Processes on
 * one registry exchange events with nothing else running, and with go-micro services on their
 * default broker when the registry is shared.
 *
 * What it adds to go-micro's (which queues and sends in the background, dropping what fails):
 * - `publish` resolves once every target subscriber's handler accepted the message. It rejects
 *   with MicroError 503 (id `tsmicro.broker`) naming the topic when a registered subscriber
 *   cannot be reached, after trying the other members of its queue group; with the handler's
 *   error (500, or 400 for a message it refused as malformed) when one rejected; with 504 when
 *   one did not answer within `deliveryTimeoutMs`. A rejected publish may have reached other
 *   subscribers: delivery is at most once per subscriber, and a queue member that dies while
 *   handling lets another member take the message (at least once within a group).
 * - A topic nobody subscribes to resolves, as on NATS: there is no one to deliver to.
 * - A subscriber found unreachable is left out of delivery until the registry drops it (TTL, or
 *   at once for the local registry's dead processes), for at most `deadNodeMs`: a SIGKILLed
 *   queue member's messages go to the others; a dead broadcast subscriber fails one publish.
 * - No port is opened until the first subscribe: a service that only publishes listens on none.
 */
export function httpBroker(opts: HttpBrokerOptions): HttpBroker {
  const o = resolveHttpBrokerOptions(opts);
  const stats: HttpBrokerStats = {
    published: 0,
    delivered: 0,
    malformed: 0,
    handlerErrors: 0,
    unreachable: 0,
  };
  const subs = new Map<string, Sub>();
  const dead = new DeadNodes(o.deadNodeMs);
  let cache: ServiceCache | undefined;
  let sender: EnvelopeSender | undefined;
  let receiver: EnvelopeReceiver | undefined;
  let listening: Promise<string> | undefined;
  let address: string | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  /** The renewal in flight: a deregistration waits for it, or the renewal would undo it. */
  let beat: Promise<void> = Promise.resolve();
  let heartbeatFailing = false;

  const subscribers = (): ServiceCache =>
    (cache ??= new ServiceCache(
      o.registry,
      {
        ttlMs: DEFAULTS.selectorCacheTtlMs,
        minRefreshMs: DEFAULTS.selectorMinRefreshMs,
        quietOrphans: true,
      },
      o.logger,
    ));

  function listen(): Promise<string> {
    listening ??= (async () => {
      receiver = new EnvelopeReceiver((id) => subs.get(id), stats, o);
      try {
        const bound = await receiver.listen(o.address);
        address = o.advertise ?? advertisable(bound);
        return address;
      } catch (err) {
        listening = undefined;
        receiver = undefined;
        throw new MicroError(
          BROKER_ERROR_ID,
          503,
          `cannot listen on ${o.address} for subscribers: ${(err as Error).message}`,
          undefined,
          { cause: err },
        );
      }
    })();
    return listening;
  }

  function startHeartbeat(): void {
    heartbeat ??= setInterval(() => {
      beat = Promise.all(
        [...subs.values()]
          .filter((s) => !s.leaving)
          .map((s) => o.registry.register(s.entry, { ttlMs: o.registerTtlMs })),
      ).then(
        () => {
          if (heartbeatFailing) o.logger.info({}, 'http broker: subscriptions registered again');
          heartbeatFailing = false;
        },
        (err: unknown) => {
          if (!heartbeatFailing)
            o.logger.warn({ err }, 'http broker: cannot renew subscriptions in the registry');
          heartbeatFailing = true;
        },
      );
    }, o.registerIntervalMs).unref();
  }

  async function deregister(sub: Sub): Promise<void> {
    sub.leaving = true;
    await beat;
    await o.registry.deregister(sub.entry).catch((err: unknown) => {
      o.logger.warn(
        { err, topic: sub.topic },
        'http broker: cannot deregister a subscription; it expires with its TTL',
      );
    });
  }

  /** Delivers to one member of `group`, trying the next when one is not there. */
  async function deliverTo(
    group: DeliveryGroup,
    topic: string,
    body: Uint8Array,
  ): Promise<GroupFailure | undefined> {
    const unreachable: string[] = [];
    for (const node of group.members) {
      const outcome = await (sender ??= new EnvelopeSender(o.deliveryTimeoutMs)).send(node, body);
      if (outcome.kind === 'ok') return undefined;
      if (outcome.kind === 'failed')
        return { error: outcome.error, who: `subscriber ${describe(node, group)}` };
      dead.mark(node.id);
      if (outcome.kind === 'unsubscribed') continue;
      // A node the registry no longer lists (kept only as the cache's last known) is not a
      // registered subscriber any more: it missing the message is no failure.
      if (subscribers().dropOrphan(BROKER_SERVICE, node.id)) continue;
      stats.unreachable++;
      o.logger.warn(
        { topic, node: node.id, address: node.address, reason: outcome.reason },
        'http broker: subscriber unreachable; left out of delivery until the registry drops it',
      );
      unreachable.push(`${node.id} at ${node.address} (${outcome.reason})`);
    }
    if (unreachable.length === 0) return undefined;
    return {
      error: MicroError.unavailable(
        BROKER_ERROR_ID,
        group.queue === undefined
          ? `subscriber ${unreachable[0]} cannot be reached`
          : `no member of queue group ${group.queue} can be reached: ${unreachable.join(', ')}`,
      ),
      who: group.queue === undefined ? 'broadcast' : `queue ${group.queue}`,
    };
  }

  return {
    name: 'http',

    get address() {
      return address;
    },

    /** Nothing to connect: the port opens on the first subscribe. */
    async connect() {},

    async disconnect() {
      clearInterval(heartbeat);
      heartbeat = undefined;
      const all = [...subs.values()];
      await Promise.all(all.map(deregister));
      subs.clear();
      await receiver?.close(o.deliveryTimeoutMs);
      receiver = undefined;
      listening = undefined;
      address = undefined;
      cache?.close();
      cache = undefined;
      sender?.close();
      sender = undefined;
      dead.clear();
    },

    async publish(topic: string, message: BrokerMessage) {
      if (typeof topic !== 'string' || topic === '')
        throw MicroError.badRequest(BROKER_ERROR_ID, 'publish needs a topic');
      const body = encodeEnvelope({
        header: { ...message.header, [TOPIC_HEADER]: topic },
        body: message.body,
      });
      let services: Service[];
      try {
        services = await subscribers().get(BROKER_SERVICE);
      } catch (err) {
        throw new MicroError(
          BROKER_ERROR_ID,
          503,
          `publish to ${topic}: cannot look up its subscribers in the ${o.registry.name} registry: ${(err as Error).message}`,
          undefined,
          { cause: err },
        );
      }
      dead.forgetUnlisted(services);
      const groups = deliveryGroups(services, topic, (n: Node) => dead.has(n.id));
      const failures = (await Promise.all(groups.map((g) => deliverTo(g, topic, body)))).filter(
        (f): f is GroupFailure => f !== undefined,
      );
      if (failures.length > 0) throw publishError(topic, groups.length, failures);
      stats.published++;
    },

    async subscribe(
      topic: string,
      handler: BrokerHandler,
      subOpts: SubscribeOptions = {},
    ): Promise<Subscription> {
      if (!checkString('subscribe.topic', topic))
        throw new InvalidOptionError('subscribe.topic', 'a topic is required');
      if (typeof handler !== 'function')
        throw new InvalidOptionError('subscribe.handler', 'expected a function');
      const queue = checkString('subscribe.queue', subOpts.queue);
      const at = await listen();
      const id = `${topic}-${randomUUID()}`;
      const sub: Sub = { topic, handler, entry: subscriptionEntry(id, at, topic, queue) };
      // Routable before it is registered: a publisher may find it the moment it is.
      subs.set(id, sub);
      try {
        await o.registry.register(sub.entry, { ttlMs: o.registerTtlMs });
      } catch (err) {
        subs.delete(id);
        throw new MicroError(
          BROKER_ERROR_ID,
          503,
          `cannot register the subscription to ${topic} in the ${o.registry.name} registry: ${(err as Error).message}`,
          undefined,
          { cause: err },
        );
      }
      // Our own publishes must see it now, not once the registry watch reports it.
      cache?.invalidate(BROKER_SERVICE);
      startHeartbeat();
      return {
        topic,
        ...(queue !== undefined ? { queue } : {}),
        async unsubscribe() {
          if (!subs.has(id)) return;
          // Deregistered first, so publishers stop choosing it before it stops answering.
          await deregister(sub);
          subs.delete(id);
          cache?.invalidate(BROKER_SERVICE);
        },
      };
    },

    stats: () => ({ ...stats }),
  };
}

function describe(node: Node, group: DeliveryGroup): string {
  return `${node.id} at ${node.address}${group.queue === undefined ? '' : ` (queue ${group.queue})`}`;
}

/** One failure keeps its code and id; several are summed up under the first one's code. */
function publishError(topic: string, targets: number, failures: GroupFailure[]): MicroError {
  if (failures.length === 1) {
    const { error, who } = failures[0];
    return new MicroError(
      error.id,
      error.code,
      `publish to ${topic}: ${who}: ${error.detail}`,
      error.status,
      { cause: error },
    );
  }
  return new MicroError(
    BROKER_ERROR_ID,
    failures[0].error.code,
    `publish to ${topic}: ${failures.length} of ${targets} deliveries failed: ${failures
      .map((f) => `${f.who}: ${f.error.detail}`)
      .join('; ')}`,
    undefined,
    { cause: failures[0].error },
  );
}
