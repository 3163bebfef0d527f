// TypeDoc (`npm run docs`): the API reference, generated from the TSDoc into docs/api/ (not
// committed). The entry points are read from package.json "exports" so that the reference holds
// exactly what users can import: every subpath's built file (./dist/x.js) maps back to its source
// (./src/x.ts), and a subpath added there appears here without editing this file.
import { readFileSync } from 'node:fs';
import { URL } from 'node:url';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

const entryPoints = Object.values(pkg.exports)
  .filter((target) => typeof target === 'object' && target !== null)
  .map((target) => target.default.replace(/^\.\/dist\//, './src/').replace(/\.js$/, '.ts'));

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  entryPoints,
  entryPointStrategy: 'resolve',
  tsconfig: './tsconfig.json',
  out: 'docs/api',
  name: 'tsmicro',
  readme: 'none',
  excludePrivate: true,
  excludeInternal: true,
  // Source links would name a git remote, which a clone may lack (TypeDoc then warns, and a
  // warning fails the build); the reference links types, not lines of a hosted repository.
  disableGit: true,
  disableSources: true,
  // StrategyName is derived from this list; its TSDoc spells the names out.
  intentionallyNotExported: ['STRATEGY_NAMES'],
  // CI runs `npm run docs`: a broken {@link}, an undocumented export or an unexported type that the
  // public API refers to fails the build instead of scrolling past.
  treatWarningsAsErrors: true,
  validation: { notExported: true, invalidLink: true, rewrittenLink: true, notDocumented: false },
};
