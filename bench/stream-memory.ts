// Memory of a benchmark process, for the slow-reader measurement (bench/streams.ts).

/** Heap in use plus memory outside the heap (Buffers), bytes, after a full GC (--expose-gc). */
export function gcMemory(): number {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}
