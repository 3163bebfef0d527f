import protobuf from 'protobufjs';
import type { Value } from '../registry/registry.js';

/**
 * The go-micro registry `Value` of a protobuf message: what a go-micro service built with
 * protoc-gen-go publishes for the same message, so `describe` and go-micro tools show one
 * endpoint the same whichever side serves it.
 *
 * go-micro builds it by reflection over the generated Go struct (its gRPC server's
 * server/grpc/extractor.go, which the default server's differs from only for untagged fields): a value per
 * exported field, named by the first part of its `json` tag (protoc-gen-go writes the field's
 * name as in the .proto), typed by the Go type name, three levels deep at most. So this walks the
 * descriptor and names each type as protoc-gen-go would name it in Go.
 */
export function messageValue(type: protobuf.Type): Value {
  return structValue(type, 0);
}

/** go-micro stops at depth 3: a struct there is described by name only. */
const MAX_DEPTH = 3;

function structValue(type: protobuf.Type, depth: number): Value {
  const name = goTypeName(type);
  const values: Value[] = [];
  if (depth + 1 < MAX_DEPTH) {
    // Go fields come in declaration order; a oneof is one interface-typed field where its first
    // member was declared (a proto3 `optional` field is a plain pointer field, not a oneof).
    const oneofsDone = new Set<protobuf.OneOf>();
    for (const field of type.fieldsArray) {
      const oneof = realOneof(field);
      if (oneof) {
        if (oneofsDone.has(oneof)) continue;
        oneofsDone.add(oneof);
        // Its Go field has no json tag, so go-micro's gRPC server (server/grpc/extractor.go)
        // leaves the value named by its type.
        const goType = `is${name}_${goCamelCase(oneof.name)}`;
        values.push({ name: goType, type: goType });
        continue;
      }
      values.push({ ...fieldValue(field, depth + 1), name: field.name });
    }
  }
  // No children: no `values` (go-micro's JSON has null there, which decodes to the same).
  return values.length > 0 ? { name, type: name, values } : { name, type: name };
}

function fieldValue(field: protobuf.Field, depth: number): Value {
  // A Go map's reflect type has no name.
  if (field.map) return { name: '', type: '' };
  const resolved = field.resolvedType;
  if (field.repeated) {
    const elem = resolved
      ? goTypeName(resolved)
      : field.type === 'bytes'
        ? ''
        : GO_SCALARS[field.type];
    return { name: '', type: `[]${elem}` };
  }
  if (resolved instanceof protobuf.Type) return structValue(resolved, depth);
  if (resolved instanceof protobuf.Enum) {
    const name = goTypeName(resolved);
    return { name, type: name };
  }
  // []byte is a slice: its element's name is uint8, its own name empty.
  if (field.type === 'bytes') return { name: '', type: '[]uint8' };
  const scalar = GO_SCALARS[field.type] ?? field.type;
  return { name: scalar, type: scalar };
}

/** The oneof a field is a member of, unless it is the synthetic one of a proto3 `optional` field. */
function realOneof(field: protobuf.Field): protobuf.OneOf | undefined {
  const oneof = field.partOf ?? undefined;
  if (!oneof) return undefined;
  return (field.options as { proto3_optional?: boolean } | undefined)?.proto3_optional
    ? undefined
    : oneof;
}

/** protoc-gen-go's Go type of each scalar protobuf type. */
const GO_SCALARS: Readonly<Record<string, string>> = {
  double: 'float64',
  float: 'float32',
  int32: 'int32',
  int64: 'int64',
  uint32: 'uint32',
  uint64: 'uint64',
  sint32: 'int32',
  sint64: 'int64',
  fixed32: 'uint32',
  fixed64: 'uint64',
  sfixed32: 'int32',
  sfixed64: 'int64',
  bool: 'bool',
  string: 'string',
};

/** A message or enum's Go type name: each enclosing message's name, then its own, joined by `_`. */
function goTypeName(type: protobuf.Type | protobuf.Enum): string {
  const parts = [type.name];
  for (let p = type.parent; p instanceof protobuf.Type; p = p.parent) parts.unshift(p.name);
  return parts.map(goCamelCase).join('_');
}

/**
 * A .proto name as a Go identifier, by protoc-gen-go's rule: words (split at `_` before a lower
 * case letter, and after digits) start upper case, and a leading `_` becomes `X`.
 */
function goCamelCase(name: string): string {
  return name
    .replace(/^_/, 'X')
    .replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())
    .replace(/(^|\d)([a-z])/g, (_, before: string, c: string) => before + c.toUpperCase());
}
