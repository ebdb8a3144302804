/** Builds the operator's dependencies from the environment (the same settings the Lambdas read). */
import { randomBytes } from 'node:crypto';
import type { EnvRecord } from '../lambdas/core/config.ts';
import { optionalInteger } from '../lambdas/core/config.ts';
import { Argon2idHasher, OWASP_ARGON2ID } from '../lambdas/core/passwords.ts';
import { createStores } from '../lambdas/adapters/runtime.ts';
import type { OperatorDeps } from './operations.ts';

export function createOperatorDeps(env: EnvRecord): OperatorDeps {
  return {
    stores: createStores(env),
    passwords: new Argon2idHasher(OWASP_ARGON2ID, (n) => randomBytes(n)),
    config: {
      accessTokenTtlSeconds: optionalInteger(env, 'ACCESS_TOKEN_TTL_SECONDS', 900, 300, 3600),
      clockSkewSeconds: optionalInteger(env, 'CLOCK_SKEW_SECONDS', 60, 0, 300),
      refreshAbsoluteTtlSeconds: optionalInteger(env, 'REFRESH_ABSOLUTE_TTL_SECONDS', 30 * 86_400, 300, 365 * 86_400),
    },
  };
}
