import { createInterface } from 'node:readline';
import { UsageError } from './errors.js';

/** What the verbs read from the command line and stdin, and how bad input is refused. */

/** All of stdin, as text. */
export async function readStdin(): Promise<string> {
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += chunk as string;
  return text;
}

/** `text` parsed as JSON; bad JSON is a usage error naming `what`. */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${what} is not JSON: ${(err as Error).message}`);
  }
}

/** The message a verb sends: the JSON argument, all of stdin for `-`, else `{}`. */
export async function messageArg(arg: string | undefined): Promise<unknown> {
  if (arg === undefined) return {};
  if (arg === '-') return parseJson(await readStdin(), 'stdin');
  return parseJson(arg, 'the message');
}

/** Each non-empty line of stdin, parsed as JSON (NDJSON); a bad line is a usage error. */
export async function* ndjsonIn(): AsyncIterable<unknown> {
  let n = 0;
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    n++;
    if (line.trim() === '') continue;
    yield parseJson(line, `stdin line ${n}`);
  }
}

/** `-m k=v` occurrences as metadata. */
export function pairs(list: readonly string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag}: expected key=value, got ${JSON.stringify(item)}`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** Collects a repeatable option's values (commander's argParser). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
