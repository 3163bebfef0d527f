import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildProgram } from '../../src/cli/program.js';
import { settingsTable } from './settings-table.js';

// docs/operations.md says what the code does: its flags table is the one table of settings,
// and it documents every verb of the tsmicro command.
const doc = readFileSync(
  fileURLToPath(new URL('../../../docs/operations.md', import.meta.url)),
  'utf8',
);

/** A Markdown table's rows as trimmed cells, padding (as prettier may add) ignored. */
const rows = (table: string): string[][] =>
  table
    .trim()
    .split('\n')
    .filter((l) => !/^\|[\s|:-]+\|$/.test(l))
    .map((l) =>
      l
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim()),
    );

test('the flags table of docs/operations.md is SETTINGS', () => {
  const start = doc.indexOf('| Flag | Variable |');
  assert.ok(start >= 0, 'the table is there');
  const end = doc.indexOf('\n\n', start);
  assert.deepEqual(rows(doc.slice(start, end)), rows(settingsTable()));
});

test('every verb of the tsmicro command is documented', () => {
  for (const cmd of buildProgram().program.commands)
    assert.match(doc, new RegExp(`\\| \`${cmd.name()}[ \`]`), `verb ${cmd.name()}`);
});
