import { InvalidOptionError } from '../errors.js';
import { parseAddress } from '../options.js';

/**
 * The host and port a listener binds, from `listen(address)`; anything but `host:port` is a bad
 * option, refused before a socket is made.
 */
export function listenAddress(address: string): { host: string; port: number } {
  const parsed = parseAddress(address);
  if (!parsed)
    throw new InvalidOptionError(
      'listen.address',
      `expected "host:port", got ${JSON.stringify(address)}`,
    );
  return parsed;
}
