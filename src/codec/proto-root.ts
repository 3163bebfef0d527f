import protobuf from 'protobufjs';
import { InvalidOptionError } from '../errors.js';
import { isList } from '../options.js';

/**
 * What the proto codec and a contract from a `.proto` share: how the files are loaded, and the
 * shape of the plain objects messages become, so a message a contract checks and normalises is
 * exactly what the codec hands a handler.
 */

/** `.proto` file path(s), or a protobufjs `Root` already built. */
export type ProtoSource = string | readonly string[] | protobuf.Root;

/**
 * protobufjs `toObject` options of every decoded message: 64-bit integers as decimal strings,
 * enums as names (as in proto3 JSON), every field present with its default.
 */
export const PLAIN_OBJECTS: protobuf.IConversionOptions = Object.freeze({
  longs: String,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
});

/**
 * The resolved Root of `protos`; a malformed option or a file that does not load is an
 * InvalidOptionError on `option`.
 */
export function loadRoot(protos: ProtoSource, keepCase: boolean, option: string): protobuf.Root {
  if (protos instanceof protobuf.Root) {
    protos.resolveAll();
    return protos;
  }
  const files = typeof protos === 'string' ? [protos] : isList(protos) ? [...protos] : undefined;
  if (!files || files.length === 0 || files.some((f) => typeof f !== 'string' || f === '')) {
    throw new InvalidOptionError(
      option,
      'expected a .proto path, a list of them, or a protobufjs Root',
    );
  }
  try {
    const root = new protobuf.Root().loadSync(files, { keepCase });
    root.resolveAll();
    return root;
  } catch (err) {
    throw new InvalidOptionError(
      option,
      `cannot load ${files.join(', ')}: ${(err as Error).message}`,
    );
  }
}
