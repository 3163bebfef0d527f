import type { Logger } from '../../logger.js';

/**
 * One warning line per kind of trouble per interval: anyone on the LAN can send packets to the
 * mDNS group, so a flood of junk must not become a flood of log lines. A line that ends a quiet
 * spell says how many like it were not logged since the previous one.
 */
export class WarnLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  warn(kind: string, detail: string): void {
    const now = Date.now();
    const prev = this.last.get(kind);
    if (prev && now - prev.at < this.intervalMs) {
      prev.suppressed++;
      return;
    }
    this.logger.warn(
      { kind, detail, suppressed: prev?.suppressed ?? 0 },
      `mdns registry: skipped ${kind}`,
    );
    this.last.set(kind, { at: now, suppressed: 0 });
  }
}
