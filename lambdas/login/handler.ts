/** The login function's entry point: its settings parsed once per container, production dependencies. */
import { parseLoginFunctionConfig } from '../config/issuer.ts';
import { createLoginRuntime } from '../adapters/runtime.ts';
import { createLoginHandler } from './login-handler.ts';

const config = parseLoginFunctionConfig(process.env);

export const handler = createLoginHandler(config, createLoginRuntime(config));
