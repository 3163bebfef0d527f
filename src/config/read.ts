import { parseArgs } from 'node:util';
import { InvalidOptionError } from '../errors.js';
import { isList } from '../options.js';
import { PROFILES } from './profiles.js';
import {
  PROFILE_CHOICES,
  SETTINGS,
  type BrokerChoice,
  type ProfileChoice,
  type RegistryChoice,
  type TransportChoice,
} from './settings.js';
import { parseSetting, type SettingValue } from './values.js';

/** Where {@link readConfig} reads settings from. */
export interface ConfigSources {
  /**
   * Command-line arguments holding only these flags (`--registry consul`, `--registry=consul`):
   * an unknown flag or a stray argument is an InvalidOptionError. `true` reads
   * `process.argv.slice(2)`. @defaultValue false (no flags)
   */
  flags?: boolean | readonly string[];
  /**
   * The environment holding the `MICRO_*` variables; an empty variable counts as unset. `false`
   * reads none. @defaultValue `process.env`
   */
  env?: false | Readonly<Record<string, string | undefined>>;
  /**
   * A profile chosen in code (the service's `profile` option): it wins over `--profile` and
   * `MICRO_PROFILE`. Either way the profile's components fill the values no flag or variable
   * gave (docs/operations.md lists each profile's components).
   */
  profile?: ProfileChoice;
}

/** The values the settings give, by the option each sets; unset when no flag or variable gave it. */
export interface ConfigValues {
  profile?: ProfileChoice;
  registry?: RegistryChoice;
  registryAddress?: readonly string[];
  broker?: BrokerChoice;
  brokerAddress?: readonly string[];
  transport?: TransportChoice;
  name?: string;
  id?: string;
  version?: string;
  address?: string;
  advertise?: string;
  metadata?: Readonly<Record<string, string>>;
  registerTtlMs?: number;
  registerIntervalMs?: number;
  timeoutMs?: number;
  retries?: number;
  poolIdleMs?: number;
}

/** What {@link readConfig} found. */
export interface Config {
  readonly values: Readonly<ConfigValues>;
  /**
   * Where each given setting came from, by flag name: `--registry` or `MICRO_REGISTRY`, which is
   * also how errors about it name it.
   */
  readonly origin: Readonly<Partial<Record<string, string>>>;
  /** `--help` (or `-h`) was among the flags. */
  readonly help: boolean;
}

/** The {@link ConfigValues} key each flag sets. */
export const SETTING_KEYS: Readonly<Record<string, keyof ConfigValues>> = {
  profile: 'profile',
  registry: 'registry',
  registry_address: 'registryAddress',
  broker: 'broker',
  broker_address: 'brokerAddress',
  transport: 'transport',
  server_name: 'name',
  server_id: 'id',
  server_version: 'version',
  server_address: 'address',
  server_advertise: 'advertise',
  server_metadata: 'metadata',
  register_ttl: 'registerTtlMs',
  register_interval: 'registerIntervalMs',
  client_request_timeout: 'timeoutMs',
  client_retries: 'retries',
  client_pool_ttl: 'poolIdleMs',
};

/**
 * Reads the settings of {@link SETTINGS} from flags, then environment (a flag wins over its
 * variable), validating each: bad text, an unknown flag or a flag without its value is an
 * InvalidOptionError naming the flag or the variable. Nothing is built here.
 */
export function readConfig(sources: ConfigSources = {}): Config {
  const argv = sources.flags === true ? process.argv.slice(2) : sources.flags || [];
  if (!isList(argv) || argv.some((a) => typeof a !== 'string'))
    throw new InvalidOptionError('flags', 'expected true, false or a list of strings');
  const env = sources.env === undefined ? process.env : sources.env;
  if (env !== false && (typeof env !== 'object' || env === null))
    throw new InvalidOptionError('env', 'expected false or an object of strings');
  if (sources.profile !== undefined && !PROFILE_CHOICES.includes(sources.profile))
    throw new InvalidOptionError(
      'profile',
      `expected one of ${PROFILE_CHOICES.join(', ')}, got ${JSON.stringify(sources.profile)}`,
    );
  const flags = parseFlags(argv);
  const values: Record<string, SettingValue> = {};
  const origin: Record<string, string> = {};
  for (const setting of SETTINGS) {
    const fromFlag = flags.values[setting.flag];
    const fromEnv = env === false ? undefined : env[setting.env];
    let raws: readonly string[];
    if (fromFlag !== undefined) {
      raws = fromFlag;
      origin[setting.flag] = `--${setting.flag}`;
    } else if (typeof fromEnv === 'string' && fromEnv !== '') {
      raws = [fromEnv];
      origin[setting.flag] = setting.env;
    } else continue;
    values[SETTING_KEYS[setting.flag]] = parseSetting(setting, raws, origin[setting.flag]);
  }
  return withProfile({ values: values, origin, help: flags.help }, sources.profile);
}

/**
 * `config` with the components of its profile filled in where no flag or variable named them;
 * `codeProfile` (the service's `profile` option) wins over `--profile` / `MICRO_PROFILE`. Each
 * component a profile gave is reported as coming from where the profile came from.
 */
function withProfile(config: Config, codeProfile?: ProfileChoice): Config {
  const profile = codeProfile ?? config.values.profile;
  if (profile === undefined) return config;
  const from = codeProfile !== undefined ? 'profile' : config.origin.profile!;
  const values: ConfigValues = { ...config.values, profile };
  const origin: Record<string, string> = { ...config.origin, profile: from };
  const given = PROFILES[profile];
  for (const key of ['registry', 'broker', 'transport'] as const) {
    if (values[key] !== undefined || given[key] === undefined) continue;
    (values as Record<string, unknown>)[key] = given[key];
    origin[key] = from;
  }
  return { values, origin, help: config.help };
}

function parseFlags(argv: readonly string[]): {
  values: Record<string, string[] | undefined>;
  help: boolean;
} {
  try {
    const { values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(
          SETTINGS.map((s) => [s.flag, { type: 'string' as const, multiple: true as const }]),
        ),
      },
    });
    const { help, ...rest } = values as Record<string, string[] | boolean | undefined>;
    return { values: rest as Record<string, string[] | undefined>, help: help === true };
  } catch (err) {
    throw flagError(err);
  }
}

/** parseArgs' error as an InvalidOptionError naming the flag (its messages name it in quotes). */
function flagError(err: unknown): InvalidOptionError {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  const named = /'([^' ,]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
    return new InvalidOptionError(
      named ?? 'flags',
      `unknown flag; the flags are ${SETTINGS.map((s) => `--${s.flag}`).join(', ')} and --help`,
    );
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
    return new InvalidOptionError(
      named ?? 'flags',
      'expects a value: --flag value, or --flag=value (needed when the value starts with -)',
    );
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
    return new InvalidOptionError(
      'flags',
      `unexpected argument ${named ? JSON.stringify(named) : ''}: only --flag value pairs are read`,
    );
  return new InvalidOptionError('flags', message);
}
