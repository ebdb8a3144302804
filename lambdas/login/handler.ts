/** The login function's entry point: its settings parsed once per container, production dependencies. */
import { parseIssuingFunctionConfig } from '../config/issuer.ts';
import { createIssuerRuntime } from '../adapters/runtime.ts';
import { createLoginHandler } from './login-handler.ts';

const config = parseIssuingFunctionConfig(process.env);

export const handler = createLoginHandler(config, createIssuerRuntime(config));
