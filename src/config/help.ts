import path from 'node:path';
import { SETTINGS, type Setting } from './settings.js';

/** What a setting's value looks like in `--help`. */
function placeholder(s: Setting): string {
  switch (s.kind) {
    case 'choice':
      return (s.choices ?? []).join('|');
    case 'seconds':
      return 'seconds';
    case 'duration':
      return 'duration';
    case 'count':
      return 'n';
    case 'address':
      return 'host:port';
    case 'list':
      return 'a,b';
    case 'pairs':
      return 'k=v,k=v';
    case 'name':
    case 'text':
      return 'value';
  }
}

/**
 * The `--help` text of the settings: every flag with its variable, its default and what it
 * sets, from {@link SETTINGS}. `usage` is the first line.
 */
export function settingsHelp(
  usage = `Usage: ${process.argv0} ${path.basename(process.argv[1] ?? 'app.js')} [flags]`,
): string {
  const w0 = Math.max(...SETTINGS.map((s) => `--${s.flag} ${placeholder(s)}`.length));
  const lines = [
    usage,
    '',
    'Flags (each also read from its variable; a flag wins over its variable, an option set in',
    'code wins over both):',
    ...SETTINGS.flatMap((s) => [
      `  ${`--${s.flag} ${placeholder(s)}`.padEnd(w0)}  ${s.env}`,
      `      ${s.description} (default: ${s.default})`,
    ]),
    `  ${'--help, -h'.padEnd(w0)}  print this and exit`,
  ];
  return `${lines.join('\n')}\n`;
}
