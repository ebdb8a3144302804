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

/**
 * The WebAuthn relying party of the passkey routes (parsed by `lambdas/config/passkeys.ts`; the
 * rules are in `core/passkeys.ts`). Here, apart from those rules, so that the settings' types
 * (which the CDK construct loads) carry no WebAuthn library.
 */
export interface PasskeyConfig {
  /** A domain, the origins' effective domain or a registrable suffix of it (WebAuthn §5.1.3). */
  readonly rpId: string;
  readonly rpName: string;
  /** Origins whose pages may use the passkeys (`clientDataJSON.origin`, WebAuthn §7.1 step 9). */
  readonly origins: readonly string[];
}
