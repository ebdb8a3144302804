/** The revoke function's entry point: its settings parsed once per container, production dependencies. */
import { parseRevokeFunctionConfig } from '../config/issuer.ts';
import { createIssuerRuntime, createVerificationKeyRing } from '../adapters/runtime.ts';
import { createRevokeHandler } from './revoke-handler.ts';

const config = parseRevokeFunctionConfig(process.env);
const runtime = createIssuerRuntime(config);
const ring = createVerificationKeyRing(config.tableName, config, { dynamo: runtime.dynamo, kms: runtime.kms });

export const handler = createRevokeHandler(config, { ...runtime, keySet: ring.publishedKeySet() });
