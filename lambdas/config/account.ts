/**
 * The account function's settings: where users and sessions live, and the issuer's policy (the
 * service's name for password rules, lifetimes for what it revokes). Parsed once per container,
 * and by the CDK construct at synth.
 */
import type { IssuerConfig, PasskeyConfig } from '../core/config.ts';
import { parseIssuerConfig } from './issuer.ts';
import { requireString, type EnvRecord } from './env.ts';
import { parsePasskeyConfig } from './passkeys.ts';

export interface AccountFunctionConfig {
  readonly policy: IssuerConfig;
  readonly tableName: string;
  /** The WebAuthn relying party for passkey registration; `undefined`: passkeys are off. */
  readonly passkeys: PasskeyConfig | undefined;
}

export function parseAccountFunctionConfig(env: EnvRecord): AccountFunctionConfig {
  return { policy: parseIssuerConfig(env), tableName: requireString(env, 'TABLE_NAME'), passkeys: parsePasskeyConfig(env) };
}
