import type { WatchEvent } from '../../src/registry/registry.js';
import { startFixture, type Fixture } from './processes.js';

/**
 * The mdns-agent fixture (a tsmicro process on the mDNS registry) run inside a network namespace:
 * one-shot modes to their JSON answer, a serving one to its ready line, a watching one's events.
 */

/** Runs an agent mode to its JSON answer line. */
export async function agent(ns: string, args: string[]): Promise<Record<string, unknown>> {
  const f = startFixture('mdns-agent', args, {}, { netns: ns });
  try {
    const m = await f.waitForLine(/^\{"(services|ok)"/, 60_000);
    return JSON.parse(m.input!) as Record<string, unknown>;
  } finally {
    await f.kill('SIGKILL');
  }
}

/** Starts `serve NAME ...` and resolves with it and its ready line. */
export async function serve(
  ns: string,
  args: string[],
): Promise<{ f: Fixture; id: string; address: string }> {
  const f = startFixture('mdns-agent', ['serve', ...args], {}, { netns: ns });
  try {
    const m = await f.waitForLine(/"event":"ready"/, 60_000);
    return { f, ...(JSON.parse(m.input!) as { id: string; address: string }) };
  } catch (err) {
    await f.kill('SIGKILL');
    throw err;
  }
}

/** The JSON events a watch agent printed so far. */
export function events(f: Fixture): WatchEvent[] {
  return f.lines.filter((l) => l.includes('"action"')).map((l) => JSON.parse(l) as WatchEvent);
}
