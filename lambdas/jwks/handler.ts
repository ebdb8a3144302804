/** The JWKS function's entry point: its settings parsed once per container, production dependencies. */
import { parseJwksFunctionConfig } from '../config/jwks.ts';
import { createKmsClient, createVerifyKeySet } from '../adapters/runtime.ts';
import { createJwksHandler } from './jwks-handler.ts';

const config = parseJwksFunctionConfig(process.env);

export const handler = createJwksHandler(config, { keySet: createVerifyKeySet(config.verifyKeyIds, createKmsClient()) });
