import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * What each public subpath of the built package (dist/) loads, followed through its relative
 * imports, in the JavaScript and in the type declarations: the root reaches only the core
 * dependencies, and each optional peer (consul, nats, ...) is reached only from its own subpath,
 * and there only through a dynamic import (the one importPeers guards).
 */

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { types: string; default: string }>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};
const peers = Object.keys(pkg.peerDependencies);

/**
 * The optional peers a subpath may reach only through a dynamic import of one of our own modules:
 * the root's configuration loads the Consul, etcd, mDNS and NATS plug-ins when a setting names
 * them (`MICRO_REGISTRY=consul`, `MICRO_PROFILE=go-micro`), and never otherwise.
 */
const LAZY_PEERS_OF: Record<string, readonly string[]> = {
  '.': ['consul', 'etcd3', 'multicast-dns', 'nats'],
};

/** The optional peers each subpath may load; every other subpath loads none. */
const PEERS_OF: Record<string, readonly string[]> = {
  './registry/consul': ['consul'],
  './registry/etcd': ['etcd3'],
  './registry/mdns': ['multicast-dns'],
  './broker/nats': ['nats'],
  './wrappers/breaker': ['opossum'],
  './wrappers/global-ratelimit': ['rate-limiter-flexible', 'ioredis'],
  './wrappers/metrics': ['prom-client'],
  './wrappers/auth': ['jose'],
  './wrappers/tracing': ['@opentelemetry/api', '@opentelemetry/core'],
  './gateway': ['fastify', '@fastify/cors', 'ws'],
};

interface Reached {
  /** Package name → how it is imported somewhere in the graph. */
  packages: Map<string, Set<'static' | 'dynamic'>>;
  /** Packages reached only past a dynamic import of one of our own modules. */
  lazy: Set<string>;
  files: Set<string>;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Every module specifier in `file`, with whether it is a dynamic `import()`. */
function specifiers(file: string): { spec: string; dynamic: boolean }[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const found: { spec: string; dynamic: boolean }[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      found.push({ spec: node.moduleSpecifier.text, dynamic: false });
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      found.push({ spec: node.arguments[0].text, dynamic: true });
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      found.push({ spec: node.argument.literal.text, dynamic: false });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function reach(entry: string): Reached {
  const reached: Reached = { packages: new Map(), lazy: new Set(), files: new Set() };
  const lazyFiles = new Set<string>();
  const declarations = entry.endsWith('.d.ts');
  const walk = (file: string, lazy: boolean): void => {
    if (lazy ? lazyFiles.has(file) || reached.files.has(file) : reached.files.has(file)) return;
    (lazy ? lazyFiles : reached.files).add(file);
    for (const { spec, dynamic } of specifiers(file)) {
      if (spec.startsWith('.')) {
        const target = path.resolve(path.dirname(file), spec);
        walk(declarations ? target.replace(/\.js$/, '.d.ts') : target, lazy || dynamic);
      } else if (lazy && !isBuiltin(spec)) {
        reached.lazy.add(packageName(spec));
      } else if (!isBuiltin(spec)) {
        const name = packageName(spec);
        const how = reached.packages.get(name) ?? new Set();
        how.add(dynamic ? 'dynamic' : 'static');
        reached.packages.set(name, how);
      }
    }
  };
  walk(path.join(repo, entry), false);
  for (const name of reached.packages.keys()) reached.lazy.delete(name);
  return reached;
}

for (const [subpath, target] of Object.entries(pkg.exports)) {
  if (typeof target === 'string') continue; // ./package.json
  const allowed = PEERS_OF[subpath] ?? [];
  test(`${subpath} loads the core dependencies and ${allowed.length === 0 ? 'no optional peer' : allowed.join(', ')}`, () => {
    const js = reach(target.default);
    const dts = reach(target.types);
    for (const [name, how] of js.packages) {
      assert.ok(
        name in pkg.dependencies || allowed.includes(name),
        `${target.default} reaches ${name}, which is neither a dependency nor its optional peer`,
      );
      if (peers.includes(name))
        assert.deepEqual([...how], ['dynamic'], `${name} is loaded only through importPeers`);
    }
    for (const name of dts.packages.keys()) {
      assert.ok(
        name in pkg.dependencies || allowed.includes(name),
        `${target.types} needs the types of ${name}, which is neither a dependency nor its peer`,
      );
    }
    // The peers the subpath declares are really what it loads (the table above is not stale).
    assert.deepEqual(
      [...js.packages.keys()].filter((n) => peers.includes(n)).sort(),
      [...allowed].sort(),
    );
    assert.deepEqual(
      [...js.lazy].filter((n) => !(n in pkg.dependencies)).sort(),
      [...(LAZY_PEERS_OF[subpath] ?? [])].sort(),
      'what is loaded only on demand',
    );
  });
}

test('package.json lists each optional peer as optional, and in devDependencies for our tests', () => {
  const full = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as {
    peerDependenciesMeta: Record<string, { optional?: boolean }>;
    devDependencies: Record<string, string>;
    dependencies: Record<string, string>;
  };
  const fromTable = [...new Set(Object.values(PEERS_OF).flat())].sort();
  assert.deepEqual([...peers].sort(), fromTable);
  for (const name of peers) {
    assert.equal(full.peerDependenciesMeta[name]?.optional, true, name);
    assert.ok(name in full.devDependencies, `${name} in devDependencies`);
    assert.ok(!(name in full.dependencies), `${name} not in dependencies`);
  }
  for (const name of Object.keys(full.dependencies))
    assert.ok(!name.startsWith('@types/'), `${name} is a runtime dependency`);
});
