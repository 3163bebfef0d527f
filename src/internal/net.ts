import { networkInterfaces } from 'node:os';
import { joinHostPort, parseAddress } from '../options.js';

/**
 * The address to advertise for a bound `host:port`: a wildcard host (`0.0.0.0`, `::`) is not
 * dialable, so pick a private non-loopback IPv4 of this host, else loopback (go-micro's
 * addr.Extract does the same).
 */
export function advertisable(bound: string): string {
  const parsed = parseAddress(bound);
  if (!parsed) return bound;
  const wildcard = parsed.host === '0.0.0.0' || parsed.host === '::' || parsed.host === '';
  if (!wildcard) return bound;
  return joinHostPort(firstPrivateIPv4() ?? '127.0.0.1', parsed.port);
}

function firstPrivateIPv4(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      if (info.family === 'IPv4' && !info.internal) return info.address;
    }
  }
  return undefined;
}
