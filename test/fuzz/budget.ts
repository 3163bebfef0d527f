/**
 * How long a fuzz suite runs: its short default in `npm test`, scaled by FUZZ_SCALE (the long
 * `npm run test:chaos` sets it). Always bounded in count and time.
 */
export function fuzzBudget(base: { runs: number; ms: number }): { runs: number; ms: number } {
  const scale = Math.min(100, Math.max(1, Number(process.env.FUZZ_SCALE ?? 1) || 1));
  return { runs: Math.round(base.runs * scale), ms: Math.round(base.ms * scale) };
}
