/** Builds the operator's dependencies from the environment (the same settings the Lambdas read). */
import { randomBytes } from 'node:crypto';
import type { EnvRecord } from '../lambdas/core/config.ts';
import { LONGEST_LIFETIMES } from '../lambdas/core/config.ts';
import { Argon2idHasher, OWASP_ARGON2ID } from '../lambdas/core/passwords.ts';
import { createStores } from '../lambdas/adapters/runtime.ts';
import type { OperatorDeps } from './operations.ts';

export function createOperatorDeps(env: EnvRecord): OperatorDeps {
  return {
    stores: createStores(env),
    passwords: new Argon2idHasher(OWASP_ARGON2ID, (n) => randomBytes(n)),
    // Denylist entries must outlive every token they stop, and the operator's shell does not know
    // the deployment's lifetimes: use the longest any deployment may configure (entries then
    // live a little longer than needed, never shorter).
    config: LONGEST_LIFETIMES,
  };
}
