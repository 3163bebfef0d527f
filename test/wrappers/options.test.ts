import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidOptionError } from '../../src/index.js';
import { circuitBreaker } from '../../src/wrappers/breaker.js';
import { bulkhead } from '../../src/wrappers/bulkhead.js';
import { requestLogging } from '../../src/wrappers/logging.js';
import { prometheusMetrics } from '../../src/wrappers/metrics.js';
import { rateLimiter } from '../../src/wrappers/ratelimit.js';
import { tracing } from '../../src/wrappers/tracing.js';

function throwsNaming(fn: () => unknown, option: string): void {
  assert.throws(fn, (err: unknown) => err instanceof InvalidOptionError && err.option === option);
}

test('bad wrapper options throw InvalidOptionError naming the option, at construction', () => {
  throwsNaming(() => rateLimiter({} as never), 'rate');
  throwsNaming(() => rateLimiter({ rate: 0 }), 'rate');
  throwsNaming(() => rateLimiter({ rate: 10, burst: 0.5 }), 'burst');
  throwsNaming(() => rateLimiter({ rate: 10, callerKey: '' }), 'callerKey');
  throwsNaming(() => bulkhead({ maxConcurrent: 0 }), 'maxConcurrent');
  throwsNaming(() => bulkhead({ maxQueue: -1 }), 'maxQueue');
  throwsNaming(() => bulkhead({ scope: 'node' as never }), 'scope');
  throwsNaming(() => circuitBreaker({ resetTimeoutMs: 0 }), 'resetTimeoutMs');
  throwsNaming(() => circuitBreaker({ fallback: 'x' as never }), 'fallback');
  throwsNaming(() => requestLogging({ level: 'loud' as never }), 'level');
  throwsNaming(() => requestLogging({ redact: [''] }), 'redact[0]');
  throwsNaming(() => prometheusMetrics({ buckets: [0.1, -1] }), 'buckets');
  throwsNaming(() => tracing({ tracerProvider: {} as never }), 'tracerProvider');
});
