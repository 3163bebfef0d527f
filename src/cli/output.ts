import { UsageError } from './errors.js';

/**
 * How results are printed: a table for a person at a terminal, JSON for a program (`--output
 * json`, or whenever stdout is not a terminal). Streams of results (stream, subscribe, watch) are
 * always NDJSON, one JSON value per line, so they can be piped as they come.
 */

/** The formats `--output` takes. */
export const OUTPUT_FORMATS = ['table', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The format `--output` asks for, else table on a terminal and JSON otherwise. */
export function outputFormat(option: string | undefined): OutputFormat {
  if (option === undefined) return process.stdout.isTTY ? 'table' : 'json';
  if (!(OUTPUT_FORMATS as readonly string[]).includes(option))
    throw new UsageError(
      `--output: expected ${OUTPUT_FORMATS.join(' or ')}, got ${JSON.stringify(option)}`,
    );
  return option as OutputFormat;
}

/** `value` as JSON on stdout: indented on a terminal, one line otherwise. */
export function printJson(value: unknown): void {
  process.stdout.write(
    `${JSON.stringify(value, jsonSafe, process.stdout.isTTY ? 2 : undefined)}\n`,
  );
}

/** `value` as one NDJSON line on stdout. */
export function printLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, jsonSafe)}\n`);
}

/** Bytes (proto `bytes` fields, raw bodies) as base64 rather than an array of numbers. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (
    typeof value === 'object' &&
    value !== null &&
    (value as { type?: unknown }).type === 'Buffer' &&
    Array.isArray((value as { data?: unknown }).data)
  )
    return Buffer.from((value as { data: number[] }).data).toString('base64');
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** Columns padded to their widest cell, a header row first, each line after `indent`. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  indent = '',
): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    indent +
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
}

/** {@link formatTable} on stdout. */
export function printTable(headers: readonly string[], rows: readonly (readonly string[])[]): void {
  process.stdout.write(formatTable(headers, rows));
}
