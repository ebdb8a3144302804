/**
 * The authorizer's entry point: its settings parsed once per container (a bad one throws
 * ConfigurationError during the init phase), keys loading before the first request.
 * lambdas/authorizer/authorizer-handler.ts describes what it answers.
 */
import { parseAuthorizerConfig } from '../config/authorizer.ts';
import { authorizerClientsFromEnv, createAuthorizerHandler } from './authorizer-handler.ts';

export const handler = createAuthorizerHandler(parseAuthorizerConfig(process.env), authorizerClientsFromEnv(process.env));
