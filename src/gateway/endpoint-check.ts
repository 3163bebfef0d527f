import type { EndpointDefinition, ServiceContract } from '../contract/define.js';
import { checkFor, type Check } from '../contract/validate.js';
import { GATEWAY_ERROR_ID } from './errors.js';

/** A contract endpoint, found by service and `Handler.Method`. */
export interface ContractEndpoint {
  readonly contract: ServiceContract;
  readonly endpoint: string;
  readonly definition: EndpointDefinition;
  /** Validates a request before the call (400 with field paths); undefined for a type-only schema. */
  readonly check: Check | undefined;
}

/**
 * The endpoints of the exposed contracts by `service/Handler.Method`. Requests to them are
 * validated at the edge with the contract's schema, with the same detail the service would
 * give (`invalid request to Greeter.Hello: name: ...`), under the gateway's id: a bad request
 * costs no call.
 */
export function contractEndpoints(
  contracts: readonly ServiceContract[],
): ReadonlyMap<string, ContractEndpoint> {
  const out = new Map<string, ContractEndpoint>();
  for (const contract of contracts)
    for (const [handler, methods] of Object.entries(contract.handlers))
      for (const [method, definition] of Object.entries(methods)) {
        const endpoint = `${handler}.${method}`;
        out.set(`${contract.name}/${endpoint}`, {
          contract,
          endpoint,
          definition,
          check: checkFor(definition.request, 400, `invalid request to ${endpoint}`),
        });
      }
  return out;
}

/**
 * Validates `body` for `found` when its schema can; resolves with `body` itself (what goes to
 * the service, which validates again and applies its own transforms) or rejects with the 400.
 */
export async function checkedRequest(
  found: ContractEndpoint | undefined,
  body: unknown,
): Promise<unknown> {
  if (found?.check) await found.check(body, GATEWAY_ERROR_ID);
  return body;
}
