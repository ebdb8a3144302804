/** Settings of the JWKS and discovery function. Pure, like every parser in this folder. */
import { DEFAULT_SIGNING_ALGORITHM, type SigningAlgorithm } from '../core/token-model.ts';
import { additionalVerifyKeyIds, issuerUrl, keyIds, requireString, signingAlgorithm, type EnvRecord } from './env.ts';

export interface JwksFunctionConfig {
  /** Without a trailing slash, so that the discovery document's URLs join cleanly. */
  readonly issuer: string;
  readonly signingAlg: SigningAlgorithm;
  /** Deploy-time keys, used until the first rotation writes the key registry. */
  readonly verifyKeyIds: readonly string[];
  /** Keys trusted from elsewhere: they verify before and after rotations alike. */
  readonly additionalVerifyKeyIds: readonly string[];
  /** The table holding the key registry. */
  readonly tableName: string;
}

export function parseJwksFunctionConfig(env: EnvRecord): JwksFunctionConfig {
  return {
    issuer: issuerUrl(env).replace(/\/+$/, ''),
    signingAlg: signingAlgorithm(env, DEFAULT_SIGNING_ALGORITHM),
    verifyKeyIds: keyIds(env, 'VERIFY_KEY_IDS'),
    additionalVerifyKeyIds: additionalVerifyKeyIds(env),
    tableName: requireString(env, 'TABLE_NAME'),
  };
}
