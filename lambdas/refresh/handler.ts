/** The refresh function's entry point: its settings parsed once per container, production dependencies. */
import { parseIssuingFunctionConfig } from '../config/issuer.ts';
import { createIssuerRuntime } from '../adapters/runtime.ts';
import { createRefreshHandler } from './refresh-handler.ts';

const config = parseIssuingFunctionConfig(process.env);

export const handler = createRefreshHandler(config, createIssuerRuntime(config));
