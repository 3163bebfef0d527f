// The greeter service: `node server.js`. Finds nothing but a free port on loopback and the local
// registry; Ctrl-C deregisters and stops it.
import { createService, MicroError } from 'tsmicro';

interface HelloRequest {
  name: string;
}
interface HelloResponse {
  msg: string;
}

const service = createService({
  name: 'greeter',
  version: '1.0.0',
  // An afterStart hook runs inside run(), whose Ctrl-C/SIGTERM handlers are already in place:
  // whoever reads this line may stop the service at once, and it stops gracefully.
  afterStart: [
    () => {
      console.log(`greeter ready at ${service.server.node?.address}`);
    },
  ],
});

service.handle('Greeter', {
  async Hello(req: HelloRequest): Promise<HelloResponse> {
    if (typeof req.name !== 'string' || req.name === '')
      throw MicroError.badRequest('greeter', 'name is required');
    return { msg: `Hello ${req.name}` };
  },
});

await service.run();
