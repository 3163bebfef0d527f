import type { Broker } from '../broker/broker.js';
import type { Registry, Watcher } from '../registry/registry.js';
import { createWatcher } from '../registry/watchers.js';
import { asError } from '../internal/as-error.js';
import type { Planned } from './components.js';

/**
 * A planned registry or broker usable at once: `createService` is synchronous, but the Consul,
 * etcd and NATS plug-ins are imported (their optional peer packages with them) asynchronously.
 * The import starts now; every method waits for it, so a missing package or a bad address fails
 * the first thing the service does with it, `start()`'s registration or connect.
 */

function loading<T>(planned: Planned<T>): () => Promise<T> {
  const instance = planned.load();
  // Awaited by every method; this keeps a failure from being reported as unhandled meanwhile.
  instance.catch(() => {});
  return () => instance;
}

/** A registry that is `planned`'s once loaded; `loaded` settles with the load. */
export function deferredRegistry(planned: Planned<Registry>): {
  registry: Registry;
  loaded: Promise<unknown>;
} {
  const get = loading(planned);
  return { registry: registryOf(planned.name, get), loaded: get() };
}

function registryOf(name: string, get: () => Promise<Registry>): Registry {
  return {
    name,
    register: async (service, opts) => (await get()).register(service, opts),
    deregister: async (service) => (await get()).deregister(service),
    getService: async (name) => (await get()).getService(name),
    listServices: async () => (await get()).listServices(),
    watch: (opts) => deferredWatcher(get().then((r) => r.watch(opts))),
    close: async () => {
      const r = await get().catch(() => undefined);
      await r?.close();
    },
  };
}

/** A broker that is `planned`'s once loaded; `loaded` settles with the load. */
export function deferredBroker(planned: Planned<Broker>): {
  broker: Broker;
  loaded: Promise<unknown>;
} {
  const get = loading(planned);
  return { broker: brokerOf(planned.name, get), loaded: get() };
}

function brokerOf(name: string, get: () => Promise<Broker>): Broker {
  return {
    name,
    connect: async () => (await get()).connect(),
    disconnect: async () => {
      const b = await get().catch(() => undefined);
      await b?.disconnect();
    },
    publish: async (topic, message) => (await get()).publish(topic, message),
    subscribe: async (topic, handler, opts) => (await get()).subscribe(topic, handler, opts),
  };
}

/** The watcher `inner` resolves to; its failure ends this one with that error. */
function deferredWatcher(inner: Promise<Watcher>): Watcher {
  let stopped = false;
  const { watcher, queue } = createWatcher(() => {
    stopped = true;
    void inner.then(
      (w) => w.stop(),
      () => {},
    );
  });
  void inner.then(
    async (w) => {
      try {
        for await (const event of w) {
          if (stopped) break;
          queue.push(event);
        }
        queue.end();
      } catch (err) {
        queue.end(asError(err));
      }
    },
    (err: unknown) => queue.end(asError(err)),
  );
  return watcher;
}
