// Two wire paths, one service. The default transport serves gRPC at the node address (what a
// go-micro peer dials) and tsmicro's native transport on a second port, advertised in the node
// metadata; a tsmicro client takes the native path, a gRPC-only client the gRPC one.
//
//   npm run build:test && node .build/examples/transports/demo.js
import { createService, grpcTransport, memoryRegistry } from 'tsmicro';
import { NATIVE_PORT_KEY } from 'tsmicro/transport/dual-path';
import { nativeTransport } from 'tsmicro/transport/native';

const registry = memoryRegistry();

// Default transport: dual path (gRPC + native).
const greeter = createService({ name: 'greeter', registry });
greeter.handle('Greeter', {
  async Hello(req: { name: string }) {
    return { msg: `Hello ${req.name}` };
  },
});
await greeter.start();
const node = greeter.server.node!;
console.log(`[server] gRPC at ${node.address}, native on port ${node.metadata[NATIVE_PORT_KEY]}`);

// A tsmicro client with the default transport: calls go over the native port.
const fast = createService({ name: 'fast-caller', registry });
console.log(
  `[native] ${(await fast.client.call<{ msg: string }>('greeter', 'Greeter.Hello', { name: 'Ada' })).msg}`,
);

// A client that speaks only gRPC — as a go-micro service would — reaches the same node.
const grpcOnly = createService({ name: 'grpc-caller', registry, transport: grpcTransport() });
console.log(
  `[grpc] ${(await grpcOnly.client.call<{ msg: string }>('greeter', 'Greeter.Hello', { name: 'Grace' })).msg}`,
);

// The native transport on its own (both ends tsmicro), e.g. with TLS:
//   nativeTransport({ tls: { key, cert, ca } })  (the same TlsOptions grpcTransport takes)
const nativeOnly = createService({ name: 'native-caller', registry, transport: nativeTransport() });
console.log(
  `[native-only] ${(await nativeOnly.client.call<{ msg: string }>('greeter', 'Greeter.Hello', { name: 'Linus' }, { address: `127.0.0.1:${node.metadata[NATIVE_PORT_KEY]}` })).msg}`,
);

await Promise.all([fast.stop(), grpcOnly.stop(), nativeOnly.stop()]);
await greeter.stop();
