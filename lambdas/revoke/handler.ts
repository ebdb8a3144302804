/** The revoke function's entry point: its settings parsed once per container, production dependencies. */
import { parseRevokeFunctionConfig } from '../config/issuer.ts';
import { createIssuerRuntime, createVerifyKeySet } from '../adapters/runtime.ts';
import { createRevokeHandler } from './revoke-handler.ts';

const config = parseRevokeFunctionConfig(process.env);
const runtime = createIssuerRuntime(config);

export const handler = createRevokeHandler(config, { ...runtime, keySet: createVerifyKeySet(config.verifyKeyIds, runtime.kms) });
