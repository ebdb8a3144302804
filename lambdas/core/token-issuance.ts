/**
 * What login and refresh share: minting the access token of a family and shaping the token
 * response (RFC 6749 §5.1 field names).
 */
import { randomUUID } from 'node:crypto';
import { signAccessToken } from './access-token-issuer.ts';
import type { IssuerConfig } from './config.ts';
import type { Clock, RandomSource, RefreshFamily, SessionRevocation, SessionStore, TokenSigner } from './ports.ts';

/**
 * RFC 8176 §2 `pwd`: a password login. Also what a family without a stored `amr` gets: those were
 * stored before the methods were kept, when a password was the only way to log in.
 */
export const PASSWORD_AMR: readonly string[] = ['pwd'];

export interface IssuerDeps {
  readonly config: IssuerConfig;
  readonly signer: TokenSigner;
  readonly sessions: SessionStore;
  readonly clock: Clock;
  readonly random: RandomSource;
}

export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly refresh_token: string;
  readonly refresh_expires_in: number;
  readonly scope: string;
}

interface IssuedAccessToken {
  readonly token: string;
  readonly jti: string;
  readonly expiresIn: number;
}

export async function issueAccessToken(
  family: RefreshFamily,
  nowSeconds: number,
  deps: Pick<IssuerDeps, 'config' | 'signer'>,
): Promise<IssuedAccessToken> {
  const { config } = deps;
  const jti = randomUUID();
  const token = await signAccessToken(
    {
      iss: config.issuer,
      sub: family.sub,
      aud: config.audience,
      exp: nowSeconds + config.accessTokenTtlSeconds,
      iat: nowSeconds,
      jti,
      client_id: family.clientId,
      scope: family.scope,
      sid: family.sid,
      auth_time: family.authTime,
      amr: family.amr,
    },
    deps.signer,
  );
  return { token, jti, expiresIn: config.accessTokenTtlSeconds };
}

export function tokenResponse(
  access: IssuedAccessToken,
  refreshToken: string,
  family: RefreshFamily,
  nowSeconds: number,
): TokenResponse {
  return {
    access_token: access.token,
    token_type: 'Bearer',
    expires_in: access.expiresIn,
    refresh_token: refreshToken,
    refresh_expires_in: Math.max(0, Math.min(family.expiresAt, family.absoluteExpiresAt) - nowSeconds),
    scope: family.scope,
  };
}

/**
 * A revocation made now: a revoked session's access tokens stay denied until the last one has
 * expired (issued at most now, living the access TTL plus the verifier's clock skew).
 */
/** The lifetimes a revocation must outlast. */
export type RevocationLifetimes = Pick<IssuerConfig, 'accessTokenTtlSeconds' | 'clockSkewSeconds' | 'refreshAbsoluteTtlSeconds'>;

export function revocationAt(config: RevocationLifetimes, nowMs: number, reason: SessionRevocation['reason']): SessionRevocation {
  const nowSeconds = Math.floor(nowMs / 1000);
  const denyUntil = nowSeconds + config.accessTokenTtlSeconds + config.clockSkewSeconds;
  return { reason, nowMs, nowSeconds, denyUntil, userDenyUntil: denyUntil + config.refreshAbsoluteTtlSeconds };
}
