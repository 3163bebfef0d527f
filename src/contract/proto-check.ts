import type { StandardSchemaV1 } from '@standard-schema/spec';
import protobuf from 'protobufjs';
import { PLAIN_OBJECTS } from '../codec/proto-root.js';

/**
 * Checks a plain object against a protobuf message type, as the proto codec represents messages
 * (64-bit integers as decimal strings, enums as names, bytes as Uint8Array), and on success
 * answers the message normalised to exactly what the codec would decode: every field present
 * with its default. protobufjs `Type.verify` is not used: it checks protobufjs' own runtime
 * shape (Long or number for 64-bit integers, numbers for enums), which is not this one. Also
 * accepted is what proto3 JSON sends (a number for a 64-bit integer or an enum, base64 for bytes),
 * so a go-micro caller on the JSON codec is understood too.
 */
export function checkMessage(
  type: protobuf.Type,
  value: unknown,
): StandardSchemaV1.Result<Record<string, unknown>> {
  const issues: StandardSchemaV1.Issue[] = [];
  checkFields(type, value, [], issues, 0);
  if (issues.length > 0) return { issues };
  try {
    return { value: type.toObject(type.fromObject(value as object), PLAIN_OBJECTS) };
  } catch (err) {
    return { issues: [{ message: (err as Error).message }] };
  }
}

type Path = readonly PropertyKey[];

/** Deeper than any real message: a guard against a value that nests without end. */
const MAX_NESTING = 64;

function checkFields(
  type: protobuf.Type,
  value: unknown,
  path: Path,
  issues: StandardSchemaV1.Issue[],
  depth: number,
): void {
  if (!isRecord(value)) {
    issues.push({
      path,
      message: `expected an object (${type.name}), received ${describe(value)}`,
    });
    return;
  }
  if (depth > MAX_NESTING) {
    issues.push({ path, message: `nested deeper than ${MAX_NESTING} messages` });
    return;
  }
  for (const field of type.fieldsArray) {
    const v = value[field.name];
    // Absent is the field's default, as on the wire.
    if (v === undefined || v === null) continue;
    const at = [...path, field.name];
    if (field.map) {
      if (!isRecord(v))
        issues.push({ path: at, message: `expected a map object, received ${describe(v)}` });
      else
        for (const [k, item] of Object.entries(v))
          checkValue(field, item, [...at, k], issues, depth);
    } else if (field.repeated) {
      if (!Array.isArray(v))
        issues.push({ path: at, message: `expected an array, received ${describe(v)}` });
      else v.forEach((item, i) => checkValue(field, item, [...at, i], issues, depth));
    } else checkValue(field, v, at, issues, depth);
  }
}

function checkValue(
  field: protobuf.Field,
  v: unknown,
  path: Path,
  issues: StandardSchemaV1.Issue[],
  depth: number,
): void {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    checkFields(resolved, v, path, issues, depth + 1);
    return;
  }
  const problem =
    resolved instanceof protobuf.Enum ? enumProblem(resolved, v) : scalarProblem(field.type, v);
  if (problem !== undefined) issues.push({ path, message: problem });
}

function enumProblem(type: protobuf.Enum, v: unknown): string | undefined {
  if (typeof v === 'string') {
    if (Object.hasOwn(type.values, v)) return undefined;
    return `expected one of ${Object.keys(type.values).join(', ')}, received ${JSON.stringify(v)}`;
  }
  if (typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX)
    return undefined;
  return `expected a ${type.name} name, received ${describe(v)}`;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64: readonly [bigint, bigint] = [-(2n ** 63n), 2n ** 63n - 1n];
const UINT64: readonly [bigint, bigint] = [0n, 2n ** 64n - 1n];
const INT32_RANGE: readonly [number, number] = [INT32_MIN, INT32_MAX];
const UINT32_RANGE: readonly [number, number] = [0, 2 ** 32 - 1];

function scalarProblem(type: string, v: unknown): string | undefined {
  switch (type) {
    case 'string':
      return typeof v === 'string' ? undefined : `expected string, received ${describe(v)}`;
    case 'bool':
      return typeof v === 'boolean' ? undefined : `expected boolean, received ${describe(v)}`;
    case 'double':
    case 'float':
      return typeof v === 'number' ? undefined : `expected number, received ${describe(v)}`;
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return int32Problem(v, INT32_RANGE, type);
    case 'uint32':
    case 'fixed32':
      return int32Problem(v, UINT32_RANGE, type);
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return int64Problem(v, INT64, type);
    case 'uint64':
    case 'fixed64':
      return int64Problem(v, UINT64, type);
    case 'bytes':
      return v instanceof Uint8Array || (typeof v === 'string' && BASE64.test(v))
        ? undefined
        : `expected bytes (a Uint8Array or base64), received ${describe(v)}`;
    default:
      return `unsupported field type ${type}`;
  }
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function int32Problem(
  v: unknown,
  [min, max]: readonly [number, number],
  type: string,
): string | undefined {
  if (typeof v !== 'number' || !Number.isInteger(v))
    return `expected an integer (${type}), received ${describe(v)}`;
  return v >= min && v <= max ? undefined : `${v} is out of range for ${type}`;
}

function int64Problem(
  v: unknown,
  [min, max]: readonly [bigint, bigint],
  type: string,
): string | undefined {
  let n: bigint;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) n = BigInt(v);
  else if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v);
  else return `expected a decimal string (${type}), received ${describe(v)}`;
  return n >= min && n <= max ? undefined : `${String(v)} is out of range for ${type}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number' && !Number.isInteger(v)) return `number ${v}`;
  return typeof v === 'string'
    ? `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`
    : typeof v;
}
