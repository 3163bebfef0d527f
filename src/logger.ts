import { pino } from 'pino';

/**
 * The logging surface tsmicro writes to: the subset of pino's API it uses, so a pino logger (or
 * anything shaped like it) can be passed in.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/**
 * The default logger: pino, JSON lines on stderr (stdout belongs to the application), level from
 * `TSMICRO_LOG_LEVEL` (default `info`).
 */
export function defaultLogger(bindings: Record<string, unknown> = {}): Logger {
  const level = process.env.TSMICRO_LOG_LEVEL ?? 'info';
  return pino(
    { level, base: { pid: process.pid, ...bindings } },
    pino.destination({ dest: 2, sync: false }),
  );
}
