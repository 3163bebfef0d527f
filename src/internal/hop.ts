import type { CallOptions, Client } from '../client/client.js';
import { MicroError } from '../errors.js';

/**
 * Naming the hop that failed. A client call that fails marks its MicroError with the hop it
 * made (service and endpoint) — locally, never on the wire. When a handler lets such an error
 * out (it did not make it; a call it made did), the server answers with the same id, code and
 * status, and the detail prefixed with that hop, Go-style (`context: cause`):
 *
 *   orders' caller sees {id: "inventory", code: 409, detail: "inventory/Inventory.Reserve: out of stock"}
 *
 * A longer chain nests outermost first: `orders/Orders.Place: inventory/Inventory.Reserve: out
 * of stock`. The id stays the failing service's (or `go.micro.client` when the hop itself
 * failed: timeout, no node), so code that switches on id and code keeps working; `/` cannot occur
 * in a service name, so the prefix reads back unambiguously.
 */

const HOP = Symbol('tsmicro.hop');

interface Hop {
  readonly service: string;
  readonly endpoint: string;
}

/** Marks `err` (when a MicroError) as the outcome of calling `endpoint` on `service`. */
export function markHop(err: unknown, service: string, endpoint: string): unknown {
  if (MicroError.is(err) && !Object.hasOwn(err, HOP)) {
    const hop: Hop = { service, endpoint };
    Object.defineProperty(err, HOP, { value: hop });
  }
  return err;
}

/**
 * What a server answers for `err` thrown by its handler: a marked error comes back as a new one
 * whose detail names the hop; anything else is unchanged.
 */
export function nameHop(err: MicroError): MicroError {
  const hop = (err as MicroError & { [HOP]?: Hop })[HOP];
  if (hop === undefined) return err;
  return new MicroError(
    err.id,
    err.code,
    `${hop.service}/${hop.endpoint}: ${err.detail}`,
    err.status,
    {
      cause: err,
    },
  );
}

/**
 * Marks what wrappers around the whole client throw themselves (a circuit breaker's refusal):
 * the outermost layer of a service's client when it has `wrapClient` wrappers. Without them the
 * client marks its own errors and this layer is left out (it would cost a promise per call).
 * Stream errors after the stream opened are marked by the stream itself.
 */
export function markingClient(next: Client): Client {
  return {
    call<Res, Req>(service: string, endpoint: string, request: Req, opts?: CallOptions) {
      return next.call<Res, Req>(service, endpoint, request, opts).catch((err: unknown) => {
        throw markHop(err, service, endpoint);
      });
    },
    stream<Send, Recv>(service: string, endpoint: string, opts?: CallOptions) {
      return next.stream<Send, Recv>(service, endpoint, opts).catch((err: unknown) => {
        throw markHop(err, service, endpoint);
      });
    },
    publish: (topic, message, opts) => next.publish(topic, message, opts),
  };
}
