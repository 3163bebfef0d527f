import type {
  Broker,
  BrokerHandler,
  BrokerMessage,
  SubscribeOptions,
  Subscription,
} from './broker.js';

interface Sub {
  topic: string;
  queue: string | undefined;
  handler: BrokerHandler;
}

/** Options for {@link memoryBroker}. */
export interface MemoryBrokerOptions {
  /**
   * Called when a handler rejects. Delivery goes on; the error is only reported.
   * @defaultValue ignore (the server's subscriber wrapper logs it)
   */
  onError?: (err: unknown, topic: string) => void;
}

/**
 * In-process broker with queue groups: every subscriber without a queue receives each message;
 * among subscribers sharing a queue, one receives it (round robin). Delivery is asynchronous
 * (after `publish` resolves), as on a real broker. Services in one process share an instance.
 */
export function memoryBroker(opts: MemoryBrokerOptions = {}): Broker {
  const subs = new Set<Sub>();
  const cursors = new Map<string, number>();
  const onError = opts.onError ?? (() => {});

  function deliver(sub: Sub, topic: string, message: BrokerMessage): void {
    // Each subscriber gets its own copy, so one handler cannot mutate what another sees.
    const copy: BrokerMessage = { header: { ...message.header }, body: message.body.slice() };
    queueMicrotask(() => {
      sub.handler(copy, topic).catch((err: unknown) => onError(err, topic));
    });
  }

  return {
    name: 'memory',
    async connect() {},
    async disconnect() {
      subs.clear();
      cursors.clear();
    },
    async publish(topic: string, message: BrokerMessage) {
      const groups = new Map<string, Sub[]>();
      for (const sub of subs) {
        if (sub.topic !== topic) continue;
        if (sub.queue === undefined) deliver(sub, topic, message);
        else {
          const members = groups.get(sub.queue) ?? [];
          members.push(sub);
          groups.set(sub.queue, members);
        }
      }
      for (const [queue, members] of groups) {
        const key = `${topic}\u0000${queue}`;
        const n = cursors.get(key) ?? 0;
        cursors.set(key, n + 1);
        deliver(members[n % members.length], topic, message);
      }
    },
    async subscribe(
      topic: string,
      handler: BrokerHandler,
      options: SubscribeOptions = {},
    ): Promise<Subscription> {
      const sub: Sub = { topic, queue: options.queue, handler };
      subs.add(sub);
      return {
        topic,
        ...(options.queue !== undefined ? { queue: options.queue } : {}),
        async unsubscribe() {
          subs.delete(sub);
        },
      };
    },
  };
}
