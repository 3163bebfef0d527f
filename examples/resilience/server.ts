// One node of the `inventory` service. The demo starts three of these as separate processes.
import { createService } from 'tsmicro';

const service = createService({ name: 'inventory' });
service.handle('Stock', {
  // Reading stock has no side effects: safe to run twice, so callers may mark it idempotent.
  async Get(req: { sku: string }) {
    return { sku: req.sku, count: 42, servedBy: process.pid };
  },
});
await service.start();
console.log(`ready ${service.server.node!.id}`);
await service.run();
