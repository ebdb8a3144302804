/**
 * The issuer's policy as plain data. `lambdas/config/issuer.ts` parses it from the function's
 * settings (and refuses bad ones); the core only reads it.
 */
import type { SigningAlgorithm } from './token-model.ts';

export type ReusePolicy = 'family' | 'user';

export interface IssuerConfig {
  readonly issuer: string;
  readonly audience: string;
  readonly clientId: string;
  readonly alg: SigningAlgorithm;
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  readonly refreshAbsoluteTtlSeconds: number;
  readonly reusePolicy: ReusePolicy;
  readonly clockSkewSeconds: number;
  /** How long a superseded refresh token still gets its successor again (retries, races); 0–60 s. */
  readonly refreshGraceSeconds: number;
}
