import { existsSync } from 'node:fs';
import path from 'node:path';

/** The path of program `name`: PATH first, then the usual dirs (a CI shell's PATH is minimal). */
export function which(name: string): string | undefined {
  const dirs = [
    ...(process.env.PATH ?? '').split(path.delimiter),
    '/usr/local/bin',
    '/usr/bin',
    '/usr/local/sbin',
    '/usr/sbin',
  ];
  for (const dir of dirs) {
    const p = path.join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}
