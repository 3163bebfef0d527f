// Every ```ts block of README.md and docs/*.md must compile as written: a reader copies them, so a
// snippet that uses a name it never imports, or an option that no longer exists, is a bug. Each
// block becomes its own module under .build/snippets/ — inside the repository, so that
// `import ... from 'tsmicro'` and `'tsmicro/registry/consul'` resolve through package.json's own
// "exports" (package self-reference) to the built dist/*.d.ts, as they do for a user — and all of
// them are type-checked in one strict program with the repository's TypeScript and tsconfig.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { extractSnippets, type Snippet } from './extract-snippets.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const outDir = join(root, '.build', 'snippets');

const markdownFiles = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
const snippets = markdownFiles.flatMap((file) =>
  extractSnippets(file, readFileSync(join(root, file), 'utf8')),
);
const checked = snippets.filter((s) => !s.nocheck);

/** A module that must NOT compile: proves the checker is strict and resolves the package. */
const CONTROL = `import { createService } from 'tsmicro';
createService({ name: 'control', noSuchOption: 3 });
export const strictOnly = (x) => x;
`;

/** Each page's snippets in a folder of their own, so one may import another by its file name. */
const moduleName = (s: Snippet): string =>
  `${s.file.replace(/[/.]/g, '_')}/${s.moduleFile ?? `L${String(s.line).padStart(4, '0')}.ts`}`;

/** Diagnostics per written module, keyed by its path. */
function typeCheck(modules: ReadonlyMap<string, string>): Map<string, readonly ts.Diagnostic[]> {
  const config = ts.readConfigFile(join(root, 'tsconfig.json'), (p) => ts.sys.readFile(p));
  if (config.error)
    throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const options: ts.CompilerOptions = {
    ...parsed.options,
    noEmit: true,
    // A snippet may be its own program or a fragment of one; an unused name there is not a bug.
    noUnusedLocals: false,
    noUnusedParameters: false,
    // Every snippet is a module (its own scope; top-level await allowed) even without an import.
    moduleDetection: ts.ModuleDetectionKind.Force,
    rootDir: undefined,
    outDir: undefined,
    declaration: false,
    declarationMap: false,
    sourceMap: false,
  };
  const program = ts.createProgram([...modules.keys()], options);
  const byFile = new Map<string, ts.Diagnostic[]>([...modules.keys()].map((p) => [p, []]));
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const key = d.file ? d.file.fileName : undefined;
    const list = key === undefined ? undefined : byFile.get(key);
    if (list) list.push(d);
    else throw new Error(`outside the snippets: ${ts.formatDiagnostic(d, formatHost)}`);
  }
  return byFile;
}

const formatHost: ts.FormatDiagnosticsHost = {
  getCanonicalFileName: (f) => f,
  getCurrentDirectory: () => root,
  getNewLine: () => '\n',
};

/** `README.md:42: TS2304 Cannot find name 'http'.`, the line counted in the Markdown file. */
function describe(s: Snippet, d: ts.Diagnostic): string {
  const at =
    d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : 0;
  return `${s.file}:${s.line + at}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
}

assert.ok(
  existsSync(join(root, 'dist', 'index.d.ts')),
  'run `npm run build` first (npm test does)',
);
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const modules = new Map<string, string>();
const pathOf = new Map<Snippet, string>();
for (const s of checked) {
  const path = join(outDir, moduleName(s)).replace(/\\/g, '/');
  mkdirSync(dirname(path), { recursive: true });
  pathOf.set(s, path);
  modules.set(path, s.code);
  writeFileSync(path, s.code);
}
const controlPath = join(outDir, 'control.ts').replace(/\\/g, '/');
modules.set(controlPath, CONTROL);
writeFileSync(controlPath, CONTROL);
const diagnostics = typeCheck(modules);

test('the docs have TypeScript snippets to check, and few opt out', () => {
  assert.ok(
    snippets.some((s) => s.file === 'README.md'),
    'README.md has a ts block',
  );
  assert.ok(checked.length >= 15, `only ${checked.length} snippets found`);
  const skipped = snippets.filter((s) => s.nocheck).map((s) => `${s.file}:${s.line}`);
  assert.ok(skipped.length <= 3, `too many \`ts nocheck\` blocks: ${skipped.join(', ')}`);
});

test('the checker is strict and resolves tsmicro through its own exports (a control that must fail)', () => {
  const codes = (diagnostics.get(controlPath) ?? []).map((d) => d.code);
  // 2353: an unknown option of createService (2307 instead would mean 'tsmicro' did not resolve,
  // and every snippet's check would mean nothing); 7006: an implicit any, refused only when strict.
  assert.deepEqual(codes.sort(), [2353, 7006]);
});

for (const s of checked) {
  test(`${s.file}:${s.line} compiles as written`, () => {
    const found = diagnostics.get(pathOf.get(s) ?? '') ?? [];
    assert.equal(
      found.length,
      0,
      `\n${found.map((d) => describe(s, d)).join('\n')}\n(module ${relative(root, pathOf.get(s) ?? '')})`,
    );
  });
}
