import { makeTempDir, type TempDir } from '../helpers/tmp.js';
import { startFixture, type Fixture } from '../helpers/processes.js';

/**
 * The processes of the gateway tests, on one local-registry directory: two service processes
 * (`gateway-service a` and `b`) and the gateway process in front of them. Disposing kills all.
 */
export interface GatewayFleet extends AsyncDisposable {
  /** `http://host:port` of the gateway. */
  readonly url: string;
  readonly gateway: Fixture;
  readonly nodes: readonly Fixture[];
  readonly dir: TempDir;
}

/** The secret the `secure` service verifies tokens with. */
export const TEST_SECRET = 'gateway-test-secret-0123456789abcdef';

export async function startFleet(): Promise<GatewayFleet> {
  const dir = await makeTempDir('gateway-');
  const env = {
    TSMICRO_REGISTRY_DIR: dir.path,
    TSMICRO_LOG_LEVEL: 'error',
    GATEWAY_TEST_SECRET: TEST_SECRET,
  };
  const nodes = ['a', 'b'].map((tag) => startFixture('gateway-service', [tag], env));
  const gateway = startFixture('gateway-process', [], env);
  const stopAll = async () => {
    await Promise.all([gateway, ...nodes].map((f) => f.kill('SIGKILL')));
    await dir[Symbol.asyncDispose]();
  };
  try {
    await Promise.all(nodes.map((n) => n.waitForLine(/^ready /, 30_000)));
    const [, address] = await gateway.waitForLine(/^ready (\S+)$/, 30_000);
    return {
      url: `http://${address}`,
      gateway,
      nodes,
      dir,
      [Symbol.asyncDispose]: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** POSTs `body` as JSON to the gateway and reads the JSON reply. */
export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    status: res.status,
    headers: res.headers,
    body: (await res.json()) as Record<string, unknown>,
  };
}

/** GETs a JSON reply. */
export async function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const res = await fetch(url, { headers });
  return {
    status: res.status,
    headers: res.headers,
    body: (await res.json()) as Record<string, unknown>,
  };
}
