import { mucpTransport } from '../../../src/transport/mucp/mucp.js';
import { transportConformance } from '../../fixtures/transport-conformance.js';

// What every transport must do, over go-micro's RPC on HTTP/1.1.
transportConformance('mucp', (opts) => mucpTransport(opts), {
  cancelIsDistinct: true,
  contentTypeSeen: 'application/json',
});
