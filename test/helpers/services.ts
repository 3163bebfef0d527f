import { pino } from 'pino';
import {
  createService,
  memoryRegistry,
  memoryBroker,
  type Service,
  type ServiceOptions,
  type Registry,
  type Broker,
} from '../../src/index.js';
import type { Logger } from '../../src/logger.js';

/** A logger that drops everything below `error`, so test output stays readable. */
export function quietLogger(): Logger {
  return pino({ level: process.env.TSMICRO_LOG_LEVEL ?? 'silent' });
}

/**
 * Shared plumbing for services talking inside one test process (real gRPC sockets between them).
 */
export interface Cluster {
  registry: Registry;
  broker: Broker;
  /** Creates a service on the shared registry and broker; stopped by `stopAll`. */
  service(
    opts: Omit<ServiceOptions, 'registry' | 'broker'> &
      Partial<Pick<ServiceOptions, 'registry' | 'broker'>>,
  ): Service;
  stopAll(): Promise<void>;
}

export function cluster(): Cluster {
  const registry = memoryRegistry();
  const broker = memoryBroker();
  const services: Service[] = [];
  return {
    registry,
    broker,
    service(opts) {
      const s = createService({ registry, broker, logger: quietLogger(), ...opts });
      services.push(s);
      return s;
    },
    async stopAll() {
      await Promise.allSettled(services.map((s) => s.stop()));
      await registry.close();
    },
  };
}
