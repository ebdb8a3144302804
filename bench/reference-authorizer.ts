/**
 * Bench-only reference: an HTTP API simple authorizer "built the usual way". The issue names
 * aws-jwt-verify plus the full DynamoDB client; aws-jwt-verify is not a dependency of this
 * project, so the reference is jose `jwtVerify` (its JWT verifier of choice) plus the full
 * `@aws-sdk/client-dynamodb` `BatchGetItemCommand`, doing the same checks as ours.
 */
import { BatchGetItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { importJWK, jwtVerify } from 'jose';
import type { CryptoKey, JWK } from 'jose';

const client = new DynamoDBClient({});
let key: CryptoKey | Uint8Array | undefined;

export async function handler(event: { headers?: Record<string, string | undefined> }): Promise<{ isAuthorized: boolean; context: Record<string, string> }> {
  const jwks = JSON.parse(process.env.PUBLIC_JWKS ?? '{}') as { keys: JWK[] };
  const jwk = jwks.keys[0];
  if (jwk === undefined) throw new Error('no key');
  key ??= await importJWK(jwk, 'ES256');
  const token = (event.headers?.authorization ?? '').slice(7);
  let payload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      issuer: process.env.ISSUER ?? '',
      audience: process.env.AUDIENCE ?? '',
      typ: 'at+jwt',
      algorithms: ['ES256'],
      requiredClaims: ['exp', 'iat', 'jti', 'sid', 'sub'],
    }));
  } catch {
    throw new Error('Unauthorized');
  }
  const table = process.env.TABLE_NAME ?? '';
  const keys = [`DENY#JTI#${String(payload.jti)}`, `DENY#SID#${String(payload.sid)}`, `DENY#SUB#${String(payload.sub)}`];
  const result = await client.send(
    new BatchGetItemCommand({
      RequestItems: { [table]: { Keys: keys.map((pk) => ({ pk: { S: pk }, sk: { S: 'DENY' } })), ConsistentRead: true } },
    }),
  );
  const now = Math.floor(Date.now() / 1000);
  const revoked = (result.Responses?.[table] ?? []).some((item) => Number(item.expiresAt?.N ?? '0') > now);
  if (revoked) throw new Error('Unauthorized');
  return { isAuthorized: true, context: { sub: String(payload.sub), scope: String(payload.scope), sid: String(payload.sid), jti: String(payload.jti) } };
}
