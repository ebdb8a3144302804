/** The JWKS function's entry point: its settings parsed once per container, production dependencies. */
import { parseJwksFunctionConfig } from '../config/jwks.ts';
import { createAwsClients, createVerificationKeyRing } from '../adapters/runtime.ts';
import { JWKS_RING_OPTIONS } from '../adapters/kms/registry-key-ring.ts';
import { createJwksHandler } from './jwks-handler.ts';

const config = parseJwksFunctionConfig(process.env);
const ring = createVerificationKeyRing(config.tableName, config, createAwsClients(), JWKS_RING_OPTIONS);

export const handler = createJwksHandler(config, { keySet: ring.publishedKeySet() });
