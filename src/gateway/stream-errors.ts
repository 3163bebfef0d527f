import type { MicroError } from '../errors.js';
import { errorBody } from './errors.js';

/** The longest close reason a WebSocket close frame carries (RFC 6455: 125 bytes less the code). */
const MAX_REASON_BYTES = 123;

/**
 * The WebSocket close code of a MicroError: 4000 + its HTTP-like code (4400, 4404, 4503, ...), in
 * the range RFC 6455 leaves to applications; a code outside 100..999 closes as 4500.
 */
export function closeCode(err: MicroError): number {
  return 4000 + (err.code >= 100 && err.code <= 999 ? err.code : 500);
}

/**
 * The close reason of a MicroError: its `{id, code, detail, status}` JSON, with the detail cut
 * (never the other fields) so that the whole fits the 123 bytes a close frame allows.
 */
export function closeReason(err: MicroError): string {
  const json = errorBody(err);
  let text = JSON.stringify(json);
  if (Buffer.byteLength(text) <= MAX_REASON_BYTES) return text;
  let detail = json.detail;
  // Cut by characters until the bytes fit; each round drops at least the overshoot's worth.
  while (detail.length > 0) {
    const over = Buffer.byteLength(text) - MAX_REASON_BYTES;
    if (over <= 0) break;
    detail = detail.slice(0, Math.max(0, detail.length - Math.max(over, 1) - 1));
    text = JSON.stringify({ ...json, detail: `${detail}…` });
  }
  if (Buffer.byteLength(text) <= MAX_REASON_BYTES) return text;
  // An id or status long enough to overflow alone: the code still says what happened.
  return JSON.stringify({ code: json.code });
}
