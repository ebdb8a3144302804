/**
 * Builds and signs access tokens (RFC 9068) as compact JWS (RFC 7515 §7.1). The signature comes
 * from the `TokenSigner` port (KMS in production), already in JWS form.
 */
import { encode } from './base64url.ts';
import type { TokenSigner } from './ports.ts';
import { ACCESS_TOKEN_TYP, type AccessTokenClaims } from './token-model.ts';

export async function signAccessToken(claims: AccessTokenClaims, signer: TokenSigner): Promise<string> {
  // One key per token: the kid in the header names the key that signs it, even across a rotation.
  const key = await signer.current();
  // RFC 9068 §2.1: typ "at+jwt"; kid lets verifiers pick the key during rotation (RFC 7515 §4.1.4).
  const header = { alg: signer.alg, typ: ACCESS_TOKEN_TYP, kid: key.kid };
  const signingInput = `${encode(JSON.stringify(header))}.${encode(JSON.stringify(claims))}`;
  const signature = await key.sign(Buffer.from(signingInput, 'ascii'));
  return `${signingInput}.${encode(signature)}`;
}
