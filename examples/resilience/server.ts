// One node of the `inventory` service. The demo starts three of these as separate processes.
import { createService } from 'tsmicro';

const service = createService({
  name: 'inventory',
  // An afterStart hook runs inside run(), whose Ctrl-C/SIGTERM handlers are already in place:
  // whoever reads this line may stop the service at once, and it stops gracefully.
  afterStart: [
    () => {
      console.log(`ready ${service.server.node!.id}`);
    },
  ],
});
service.handle('Stock', {
  // Reading stock has no side effects: safe to run twice, so callers may mark it idempotent.
  async Get(req: { sku: string }) {
    return { sku: req.sku, count: 42, servedBy: process.pid };
  },
});
await service.run();
