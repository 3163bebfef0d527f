import type { FastifyReply } from 'fastify';
import type { CallOptions } from '../client/client.js';
import type { Metadata } from '../metadata.js';
import { requestTimeout, type HeaderRules } from './headers.js';
import type { ResolvedPolicy } from './policy.js';

/** Request headers as Node gives them, or joined as {@link GatewayRequestInfo} has them. */
type Headers = Readonly<Record<string, string | string[] | undefined>>;

/**
 * The options of the call a request makes: the forwarded headers and what the authorize hook
 * added as metadata, the deadline the request names (capped) or the route's (else the client's
 * own default), and the route's idempotency.
 */
export function callOptionsOf(
  headers: Headers,
  policy: ResolvedPolicy,
  forward: HeaderRules,
  added: Metadata | undefined,
  maxTimeoutMs: number,
): CallOptions {
  const timeoutMs = requestTimeout(headers, maxTimeoutMs) ?? policy.timeoutMs;
  return {
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    idempotent: policy.idempotent,
    metadata: { ...forward(headers), ...added },
  };
}

/**
 * A signal aborted when the HTTP client goes away before the reply is written: the call's
 * cancellation reaches the handler (its `ctx.signal`), so a closed tab stops the work it asked for.
 * The response's `close` is the one event that means this for every request (the request's own
 * `close` fires as soon as its body has been read).
 */
export function disconnectSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const res = reply.raw;
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('the HTTP client disconnected'));
  });
  return controller.signal;
}
