import { InvalidOptionError } from '../errors.js';
import { checkRegistryName, parseAddress } from '../options.js';
import type { Setting } from './settings.js';

/**
 * Turns the text of one setting (from a flag or a variable) into its value, by the setting's
 * kind; bad text is an InvalidOptionError naming where it came from (`--register_ttl` or
 * `MICRO_REGISTER_TTL`) and what is allowed.
 */

/** A parsed setting value. */
export type SettingValue = string | number | readonly string[] | Readonly<Record<string, string>>;

/** Go's duration units, in ms. */
const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};
const DURATION = /^(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h)/;

/**
 * Milliseconds of a Go duration (`time.ParseDuration`'s syntax without a sign: `500ms`, `1m30s`,
 * `1.5h`, or `0`), or undefined when `text` is not one.
 */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0') return 0;
  let rest = text;
  let ms = 0;
  if (rest === '') return undefined;
  while (rest !== '') {
    const m = DURATION.exec(rest);
    if (!m) return undefined;
    const unit = /(?:ns|us|µs|ms|s|m|h)$/.exec(m[0])![0];
    ms += Number(m[0].slice(0, -unit.length)) * UNIT_MS[unit];
    rest = rest.slice(m[0].length);
  }
  return ms;
}

/** The comma-separated items of every occurrence, trimmed, none empty. */
function items(raws: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (const raw of raws)
    for (const item of raw.split(',')) {
      const t = item.trim();
      if (t === '') throw new InvalidOptionError(name, `empty item in ${JSON.stringify(raw)}`);
      out.push(t);
    }
  return out;
}

/**
 * The value of `setting` from its occurrences (a flag may be repeated; the last occurrence of a
 * single-valued setting counts, as with Go's flag package), read for `name`.
 */
export function parseSetting(
  setting: Setting,
  raws: readonly string[],
  name: string,
): SettingValue {
  const last = raws[raws.length - 1].trim();
  switch (setting.kind) {
    case 'choice': {
      const choices = setting.choices ?? [];
      if (!choices.includes(last))
        throw new InvalidOptionError(
          name,
          `expected one of ${choices.join(', ')}, got ${JSON.stringify(last)}`,
        );
      return last;
    }
    case 'name':
      return checkRegistryName(name, last) ?? '';
    case 'text':
      if (last === '') throw new InvalidOptionError(name, 'expected a non-empty value');
      return last;
    case 'address':
      if (!parseAddress(last))
        throw new InvalidOptionError(
          name,
          `expected host:port (e.g. 0.0.0.0:8080; IPv6 as [::1]:8080), got ${JSON.stringify(last)}`,
        );
      return last;
    case 'list':
      return items(raws, name);
    case 'pairs': {
      const pairs: Record<string, string> = {};
      for (const item of items(raws, name)) {
        const eq = item.indexOf('=');
        if (eq <= 0)
          throw new InvalidOptionError(name, `expected key=value, got ${JSON.stringify(item)}`);
        pairs[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
      }
      return pairs;
    }
    case 'seconds':
    case 'count': {
      if (!/^\d+$/.test(last))
        throw new InvalidOptionError(
          name,
          `expected a whole number${setting.kind === 'seconds' ? ' of seconds' : ''} ≥ 0, got ${JSON.stringify(last)}`,
        );
      const n = Number(last);
      return setting.kind === 'seconds' ? n * 1000 : n;
    }
    case 'duration': {
      const ms = parseGoDuration(last);
      if (ms === undefined || ms === 0)
        throw new InvalidOptionError(
          name,
          `expected a positive Go duration such as 500ms, 5s or 1m30s, got ${JSON.stringify(last)}`,
        );
      return ms;
    }
  }
}
