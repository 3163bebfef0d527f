import { nativeTransport } from '../../../src/transport/native/native.js';
import { transportConformance } from '../../fixtures/transport-conformance.js';

transportConformance('native', (opts) => nativeTransport(opts), { cancelIsDistinct: true });
