import {
  createService,
  localRegistry,
  registrySelector,
  type CallWrapper,
  type Registry,
  type RegistrySelectorOptions,
  type Selector,
  type Service,
} from '../../src/index.js';
import { startFixture, type Fixture } from '../helpers/processes.js';
import { quietLogger } from '../helpers/services.js';

/**
 * Shared set-up of the multi-process resilience tests: server processes on one local-registry
 * directory, and a client in the test process whose call wrapper records every attempt (which
 * node, when) — the sequence the tests assert on.
 */

/** A started server process and the node it registered. */
export interface ServerProcess {
  fixture: Fixture;
  id: string;
  address: string;
}

/** Starts fixture `name` with `args` on registry `dir` and waits for its `ready` line. */
export async function startServer(
  dir: string,
  name: string,
  args: string[],
): Promise<ServerProcess> {
  const fixture = startFixture(name, args, {
    TSMICRO_REGISTRY_DIR: dir,
    TSMICRO_LOG_LEVEL: 'error',
  });
  const m = await fixture.waitForLine(/^ready (\S+) (\S+)$/, 30_000);
  return { fixture, id: m[1], address: m[2] };
}

/** One attempt as the recording wrapper saw it. */
export interface Attempt {
  node: string;
  at: number;
}

/** A client service with a recording wrapper and its own selector (so tests can read its stats). */
export interface RecordingClient extends AsyncDisposable {
  service: Service;
  selector: Selector;
  registry: Registry;
  attempts: Attempt[];
}

/** A client on registry `dir` whose every attempt is recorded. */
export function recordingClient(
  dir: string,
  selectorOpts: Omit<RegistrySelectorOptions, 'registry'> = {},
  extra: { retries?: number } = {},
): RecordingClient {
  const registry = localRegistry({ dir });
  const selector = registrySelector({ registry, ...selectorOpts });
  const attempts: Attempt[] = [];
  const record: CallWrapper = (next) => (ctx, node, req, opts) => {
    attempts.push({ node: node.id, at: Date.now() });
    return next(ctx, node, req, opts);
  };
  const service = createService({
    name: 'resilience-client',
    registry,
    selector,
    wrapCall: [record],
    logger: quietLogger(),
    ...extra,
  });
  return {
    service,
    selector,
    registry,
    attempts,
    async [Symbol.asyncDispose]() {
      await service.stop();
      await selector.close();
      await registry.close();
    },
  };
}

/** Attempts per node id. */
export function countByNode(attempts: readonly Attempt[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const a of attempts) out.set(a.node, (out.get(a.node) ?? 0) + 1);
  return out;
}

/**
 * Runs `fn` from `concurrency` workers until `durationMs` passed or `maxCalls` were made
 * (whichever first), counting outcomes. Bounded in count and time.
 */
export async function load(
  opts: { concurrency: number; durationMs: number; maxCalls: number },
  fn: (n: number) => Promise<unknown>,
): Promise<{ ok: number; failed: number; errors: unknown[] }> {
  const end = Date.now() + opts.durationMs;
  let started = 0;
  let ok = 0;
  const errors: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (Date.now() < end && started < opts.maxCalls) {
      const n = started++;
      try {
        await fn(n);
        ok++;
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return { ok, failed: errors.length, errors };
}
