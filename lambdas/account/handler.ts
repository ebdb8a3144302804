/** The account function's entry point: its settings parsed once per container, production dependencies. */
import { parseAccountFunctionConfig } from '../config/account.ts';
import { createAccountRuntime } from '../adapters/runtime.ts';
import { createAccountHandler } from './account-handler.ts';

const config = parseAccountFunctionConfig(process.env);

export const handler = createAccountHandler(config, createAccountRuntime(config));
