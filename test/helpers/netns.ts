import { execFileSync } from 'node:child_process';
import { which } from './which.js';

/**
 * Test hosts made of Linux network namespaces, created and removed by the test itself, so mDNS
 * multicast never leaves them (the machine's own interfaces are not touched):
 * - {@link oneHost}: one namespace whose loopback carries multicast (several processes of one host);
 * - {@link lan}: hosts on a LAN: one namespace per host, each with a veth into a bridge that lives
 *   in a namespace of its own (multicast snooping off, so the group floods to every port).
 * Needs root and iproute2. Without them a suite is skipped with the reason, except with CI=true,
 * where that is a failure. Every namespace is deleted by `remove()`, and at exit if a test forgot.
 */

/** A set of namespaces the test made. */
export interface Netns {
  /** Host namespaces, in order. */
  readonly hosts: readonly string[];
  /** IPv4 address of each host on the LAN (`127.0.0.1` for {@link oneHost}). */
  readonly ips: readonly string[];
  /** Deletes every namespace made (idempotent). */
  remove(): void;
}

const made = new Set<string>();
process.on('exit', () => {
  for (const ns of made) del(ns);
});

let counter = 0;
/** Short, unique per process and call: interface names are limited to 15 characters. */
function tag(): string {
  return `${(process.pid % 10_000).toString(36)}${(counter++).toString(36)}`;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function del(ns: string): void {
  try {
    ip('netns', 'del', ns);
  } catch {
    // already gone
  }
  made.delete(ns);
}

function add(ns: string): void {
  ip('netns', 'add', ns);
  made.add(ns);
  ip('-n', ns, 'link', 'set', 'lo', 'up');
}

/** Why namespaces cannot be made here, or false. With CI=true that is thrown instead. */
export function netnsSkipReason(): string | false {
  let why: string | false = false;
  if (!which('ip')) why = 'no `ip` (iproute2) on PATH';
  else if (process.getuid?.() !== 0) why = 'network namespaces need root';
  else {
    const ns = `tsm-probe-${tag()}`;
    try {
      add(ns);
    } catch (err) {
      why = `ip netns add failed: ${(err as Error).message.split('\n')[0]}`;
    } finally {
      del(ns);
    }
  }
  if (why && process.env.CI === 'true') throw new Error(`CI=true and ${why}`);
  return why;
}

/** One host: a namespace with multicast on its loopback (group routed there). */
export function oneHost(): Netns {
  const ns = `tsm-${tag()}`;
  add(ns);
  try {
    ip('-n', ns, 'link', 'set', 'lo', 'multicast', 'on');
    ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'lo');
  } catch (err) {
    del(ns);
    throw err;
  }
  return { hosts: [ns], ips: ['127.0.0.1'], remove: () => del(ns) };
}

/** `count` hosts on one LAN, 10.<n>.0.<i+1>/24, through a bridge. */
export function lan(count: number): Netns {
  const t = tag();
  const bridgeNs = `tsm-${t}-br`;
  const hosts = Array.from({ length: count }, (_, i) => `tsm-${t}-h${i}`);
  const subnet = 100 + (counter % 100);
  const ips = hosts.map((_, i) => `10.${subnet}.0.${i + 1}`);
  const all = [bridgeNs, ...hosts];
  try {
    for (const ns of all) add(ns);
    ip('-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0');
    ip('-n', bridgeNs, 'link', 'set', 'br0', 'up');
    hosts.forEach((ns, i) => {
      // Made in the host namespace, its peer end moved into the bridge's.
      ip('-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `p${i}`);
      ip('-n', ns, 'link', 'set', `p${i}`, 'netns', bridgeNs);
      ip('-n', bridgeNs, 'link', 'set', `p${i}`, 'master', 'br0', 'up');
      ip('-n', ns, 'addr', 'add', `${ips[i]}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'multicast', 'on', 'up');
      ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0');
    });
  } catch (err) {
    for (const ns of all) del(ns);
    throw err;
  }
  return { hosts, ips, remove: () => all.forEach(del) };
}

/** `command args` run inside namespace `ns`. */
export function inNetns(ns: string, command: string, args: readonly string[]): [string, string[]] {
  return ['ip', ['netns', 'exec', ns, command, ...args]];
}
