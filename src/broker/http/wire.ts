import type { Node, Service } from '../../registry/registry.js';

/**
 * go-micro's HTTP broker as it appears in the registry and on the wire (broker/http.go at
 * v5.30.0), so a Go service on its default broker and a tsmicro one share one set of subscribers.
 */

/** The registry service every HTTP-broker subscription registers under. */
export const BROKER_SERVICE = 'micro.http.broker';
/** The version of subscriptions without a queue group: each receives every message. */
export const BROADCAST_VERSION = 'ff.http.broadcast';
/** The header naming the topic inside the envelope (go-micro's `headers.Message`). */
export const TOPIC_HEADER = 'Micro-Topic';

/**
 * The registry entry of one subscription: go-micro's node `{Id: <topic>-<uuid>, Address,
 * Metadata: {secure, broker: "http", topic}}` under version = queue or the broadcast version.
 */
export function subscriptionEntry(
  id: string,
  address: string,
  topic: string,
  queue: string | undefined,
): Service {
  return {
    name: BROKER_SERVICE,
    version: queue ?? BROADCAST_VERSION,
    metadata: {},
    endpoints: [],
    nodes: [{ id, address, metadata: { secure: 'false', broker: 'http', topic } }],
  };
}

/**
 * Who gets one message: every broadcast node on its own, and one member of each queue group.
 * `members` of a group are in the order to try them (random first, as go-micro picks).
 */
export interface DeliveryGroup {
  queue: string | undefined;
  members: Node[];
}

/**
 * The delivery groups of `topic` among the registered subscriptions, as go-micro's publisher
 * forms them: nodes of `broker=http` and this topic; per version, broadcast to every node or
 * one node of the queue. `skip` leaves out nodes known to be unreachable.
 */
export function deliveryGroups(
  services: readonly Service[],
  topic: string,
  skip: (node: Node) => boolean,
): DeliveryGroup[] {
  const groups: DeliveryGroup[] = [];
  for (const service of services) {
    const nodes = service.nodes.filter(
      (n) => n.metadata.broker === 'http' && n.metadata.topic === topic && !skip(n),
    );
    if (nodes.length === 0) continue;
    if (service.version === BROADCAST_VERSION)
      for (const node of nodes) groups.push({ queue: undefined, members: [node] });
    else groups.push({ queue: service.version, members: shuffle(nodes) });
  }
  return groups;
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
