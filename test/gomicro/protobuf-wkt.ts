import protobuf from 'protobufjs';

/**
 * Protobuf well-known types (google.protobuf.StringValue, Struct) encoded with protobufjs, for
 * calling the go-micro peer's proto handlers through tsmicro's bytes codec. Only tests use this:
 * it is how a caller does its own serialisation today, not a codec.
 */

const wrappers = protobuf.Root.fromJSON(protobuf.common.get('google/protobuf/wrappers.proto')!);
const structs = protobuf.Root.fromJSON(protobuf.common.get('google/protobuf/struct.proto')!);
const StringValue = wrappers.lookupType('google.protobuf.StringValue');
const Struct = structs.lookupType('google.protobuf.Struct');

export function encodeStringValue(value: string): Uint8Array {
  return StringValue.encode(StringValue.create({ value })).finish();
}

export function decodeStringValue(bytes: Uint8Array): string {
  return (StringValue.toObject(StringValue.decode(bytes), { defaults: true }) as { value: string })
    .value;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type ProtoValue = {
  nullValue?: 0;
  boolValue?: boolean;
  numberValue?: number;
  stringValue?: string;
  listValue?: { values: ProtoValue[] };
  structValue?: { fields: Record<string, ProtoValue> };
};

function toValue(v: Json): ProtoValue {
  if (v === null) return { nullValue: 0 };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  return {
    structValue: { fields: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toValue(x)])) },
  };
}

function fromValue(v: ProtoValue): Json {
  if (v.structValue) return fromFields(v.structValue.fields ?? {});
  if (v.listValue) return (v.listValue.values ?? []).map(fromValue);
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.numberValue !== undefined) return v.numberValue;
  if (v.boolValue !== undefined) return v.boolValue;
  return null;
}

function fromFields(fields: Record<string, ProtoValue>): { [k: string]: Json } {
  return Object.fromEntries(Object.entries(fields).map(([k, x]) => [k, fromValue(x)]));
}

/** A JSON object as a google.protobuf.Struct message. */
export function encodeStruct(obj: { [k: string]: Json }): Uint8Array {
  return Struct.encode(Struct.fromObject(toValue(obj).structValue!)).finish();
}

/** A google.protobuf.Struct message as a JSON object. */
export function decodeStruct(bytes: Uint8Array): { [k: string]: Json } {
  const s = Struct.toObject(Struct.decode(bytes)) as { fields?: Record<string, ProtoValue> };
  return fromFields(s.fields ?? {});
}
