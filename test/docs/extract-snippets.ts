/** A TypeScript code block found in a Markdown file. */
export interface Snippet {
  /** The Markdown file, relative to the repository root (`README.md`, `docs/wrappers.md`). */
  readonly file: string;
  /** 1-based line of the block's first code line in that file. */
  readonly line: number;
  readonly code: string;
  /**
   * The block opened with ```ts nocheck: a fragment that is deliberately partial, left out of
   * the type-check (and counted, so opting out stays visible).
   */
  readonly nocheck: boolean;
  /**
   * The block opened with ```ts file=contract.ts: a module later blocks of the same page import
   * (`import { Greeter } from './contract.js'`), as the reader's own project would have it.
   */
  readonly moduleFile?: string;
}

const OPEN = /^(\s*)```(?:ts|typescript)(?:\s+(.*))?$/;
const CLOSE = /^\s*```\s*$/;

/**
 * Every ```ts / ```typescript block of one Markdown file, in order. A block indented under a list
 * item loses the fence's indentation. An unclosed block is an error rather than silently ignored.
 */
export function extractSnippets(file: string, markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = OPEN.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const info = (open[2] ?? '').trim().split(/\s+/);
    const start = i + 1;
    let end = start;
    while (end < lines.length && !CLOSE.test(lines[end])) end++;
    if (end === lines.length) throw new Error(`${file}:${i + 1}: unclosed code block`);
    const code = lines
      .slice(start, end)
      .map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length)))
      .join('\n');
    const moduleFile = info.find((w) => w.startsWith('file='))?.slice('file='.length);
    snippets.push({
      file,
      line: start + 1,
      code: code + '\n',
      nocheck: info.includes('nocheck'),
      ...(moduleFile ? { moduleFile } : {}),
    });
    i = end;
  }
  return snippets;
}
