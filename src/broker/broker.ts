/**
 * Publish/subscribe. A message is go-micro's `broker.Message`: string headers and a body of bytes
 * (its JSON envelope on the wire is `{"Header": {...}, "Body": "<base64>"}`).
 */

/** One message on a topic. */
export interface BrokerMessage {
  header: Record<string, string>;
  body: Uint8Array;
}

/**
 * Handles one delivered message. Rejecting reports the failure; it never ends the subscription.
 * A broker with acknowledgements (NATS JetStream) acks only after the promise resolved and
 * redelivers after a rejection — except a rejection with a MicroError of code 400 (the message
 * is malformed and would fail again), which it counts and drops.
 */
export type BrokerHandler = (message: BrokerMessage, topic: string) => Promise<void>;

/** Options for {@link Broker.subscribe}. */
export interface SubscribeOptions {
  /**
   * Queue group. Subscribers sharing a queue share the messages (each delivered to one of them);
   * without a queue every subscriber receives every message (broadcast).
   */
  queue?: string;
}

/** An active subscription. */
export interface Subscription {
  readonly topic: string;
  readonly queue?: string;
  /** Stops delivery to this subscription. */
  unsubscribe(): Promise<void>;
}

/** A message broker. */
export interface Broker {
  /** Short name, published in node metadata (`broker=<name>`). */
  readonly name: string;
  /** Connects; publishing or subscribing before this connects lazily. */
  connect(): Promise<void>;
  /** Closes subscriptions and connections. */
  disconnect(): Promise<void>;
  /** Publishes `message` to `topic`. Resolves once the broker has accepted it. */
  publish(topic: string, message: BrokerMessage): Promise<void>;
  /** Subscribes `handler` to `topic`. */
  subscribe(topic: string, handler: BrokerHandler, opts?: SubscribeOptions): Promise<Subscription>;
  /**
   * Resolves when the broker is connected and answering, rejects (a MicroError 503) when not.
   * Optional: a broker that has it gets the built-in `broker` health check; one that cannot lose
   * its connection (the in-process memory broker) has none.
   */
  ping?(): Promise<void>;
}
