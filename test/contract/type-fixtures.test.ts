import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The type-level promises of contracts: test/types/contract-misuse.ts marks each wrong use with
 * `@ts-expect-error`, so the build itself fails if one compiles. Here the markers are taken out
 * and the file is compiled against the built package: every marked line must now be an error,
 * and no other line may be (so each marker stands for the error it claims, not a neighbour's).
 */

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = path.join(repo, 'test', 'types', 'contract-misuse.ts');
const MARKER = /^\s*\/\/ @ts-expect-error\b(.*)$/;

test('every wrong use of a contract in the fixture fails to compile, and nothing else does', async () => {
  const source = await readFile(fixture, 'utf8');
  const kept: string[] = [];
  const expected = new Map<number, string>(); // line (1-based, in the stripped file) → why
  for (const line of source.split('\n')) {
    const marker = MARKER.exec(line);
    if (marker) expected.set(kept.length + 1, marker[1].trim());
    else kept.push(line);
  }
  assert.ok(expected.size >= 15, `the fixture marks ${expected.size} wrong uses`);
  const stripped = kept.join('\n');

  const config = ts.getParsedCommandLineOfConfigFile(
    path.join(repo, 'tsconfig.test.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) =>
        assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    },
  );
  assert.ok(config);
  const host = ts.createCompilerHost(config.options);
  const readSource = host.getSourceFile.bind(host);
  host.getSourceFile = (file, language, onError) =>
    path.resolve(file) === fixture
      ? ts.createSourceFile(file, stripped, language, true)
      : readSource(file, language, onError);
  const program = ts.createProgram([fixture], { ...config.options, noEmit: true }, host);
  const diagnostics = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && path.resolve(d.file.fileName) === fixture);

  const errorLines = new Map<number, string>();
  for (const d of diagnostics) {
    const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
    errorLines.set(line + 1, ts.flattenDiagnosticMessageText(d.messageText, '\n').split('\n')[0]);
  }
  const unexpected = [...errorLines].filter(([line]) => !expected.has(line));
  assert.deepEqual(unexpected, [], 'errors on lines without a marker');
  const compiled = [...expected].filter(([line]) => !errorLines.has(line));
  assert.deepEqual(compiled, [], 'wrong uses that compiled');
});
