import { fileURLToPath } from 'node:url';

/** The .proto both sides of the interop tests load (the source file: tsc does not copy it). */
export const HELLO_PROTO = fileURLToPath(
  new URL('../../../test/protos/helloworld.proto', import.meta.url),
);
