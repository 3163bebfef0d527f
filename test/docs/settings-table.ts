import { SETTINGS, type Setting } from '../../src/index.js';

/**
 * The flags table of docs/operations.md, made from the one table of settings: the doc holds this
 * text between its `settings` markers, and operations.test.ts checks it still does.
 */

const UNIT: Record<Setting['kind'], string> = {
  choice: 'one of',
  name: 'name',
  text: 'text',
  address: 'host:port',
  list: 'list (a,b)',
  pairs: 'k=v list',
  seconds: 'whole seconds',
  duration: 'Go duration (5s)',
  count: 'whole number',
};

const cell = (text: string): string => text.replace(/\|/g, '\\|');

export function settingsTable(): string {
  const rows = SETTINGS.map((s) => {
    const kind =
      s.kind === 'choice'
        ? `${UNIT.choice} ${(s.choices ?? []).map((c) => `\`${c}\``).join(', ')}`
        : UNIT[s.kind];
    return `| \`--${s.flag}\` | \`${s.env}\` | ${cell(kind)} | ${cell(s.default)} | ${cell(s.sets)} |`;
  });
  return [
    '| Flag | Variable | Value | Default | Sets |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
