import type { BrokerMessage } from '../broker/broker.js';
import type { Codec } from '../codec/codec.js';
import { MicroError, SERVER_ERROR_ID } from '../errors.js';
import { findCodec } from '../codec/codec.js';
import type { Logger } from '../logger.js';
import { normalizeMetadata } from '../metadata.js';
import type { Endpoint, Value } from '../registry/registry.js';
import type { ServerMessage, SubscriberContext, SubscriberFunc } from './server.js';

/** A subscriber as the server keeps it: topic, queue group, and the wrapped function. */
export interface SubscriberEntry {
  topic: string;
  queue: string | undefined;
  run: SubscriberFunc;
  /** The event's type as the registry shows it (go-micro's subscriber `request`), when known. */
  request?: Value | null;
  /** Extra endpoint metadata: the event's JSON Schema, when known. */
  metadata?: Record<string, string>;
}

/**
 * Delivers one broker message to a subscriber: picks the codec from the `Content-Type` header
 * (go-micro's), decodes, runs the wrapped subscriber. Failures are logged and rethrown, so a
 * broker with acknowledgements can redeliver; the subscription itself stays. A body no codec can
 * read is rethrown as MicroError 400, which such a broker drops instead of redelivering forever.
 */
export async function deliver(
  sub: SubscriberEntry,
  message: BrokerMessage,
  codecs: readonly Codec[],
  logger: Logger,
): Promise<void> {
  const contentType = headerOf(message.header, 'content-type') ?? codecs[0].contentType;
  const ctx: SubscriberContext = { topic: sub.topic, metadata: normalizeMetadata(message.header) };
  try {
    const codec = findCodec(codecs, contentType);
    if (!codec)
      throw MicroError.badRequest(
        SERVER_ERROR_ID,
        `unsupported content type ${contentType} on ${sub.topic}`,
      );
    let body: unknown;
    try {
      body = codec.decode(message.body, { endpoint: sub.topic, kind: 'event' });
    } catch (err) {
      throw new MicroError(
        SERVER_ERROR_ID,
        400,
        `malformed event on ${sub.topic}: ${(err as Error).message}`,
        undefined,
        { cause: err },
      );
    }
    const msg: ServerMessage = { topic: sub.topic, contentType, header: message.header, body };
    await sub.run(msg, ctx);
  } catch (err) {
    logger.error({ err, topic: sub.topic }, 'subscriber failed');
    throw err;
  }
}

/** Subscribers as go-micro publishes them: one endpoint per topic, flagged as subscriber. */
export function subscriberEndpoints(subs: readonly SubscriberEntry[]): Endpoint[] {
  return subs.map((s) => {
    const endpoint: Endpoint = {
      name: s.topic,
      metadata: {
        ...s.metadata,
        topic: s.topic,
        subscriber: 'true',
        ...(s.queue ? { queue: s.queue } : {}),
      },
    };
    if (s.request !== undefined) endpoint.request = s.request;
    return endpoint;
  });
}

function headerOf(header: Readonly<Record<string, string>>, key: string): string | undefined {
  for (const k of Object.keys(header)) if (k.toLowerCase() === key) return header[k];
  return undefined;
}
