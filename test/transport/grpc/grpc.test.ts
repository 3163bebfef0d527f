import { grpcTransport } from '../../../src/transport/grpc/grpc.js';
import { transportConformance } from '../../fixtures/transport-conformance.js';

transportConformance('grpc', (opts) => grpcTransport(opts), { cancelIsDistinct: false });
