/**
 * Bench-only reference: an HTTP API simple authorizer built the usual way: aws-jwt-verify (the JWKS handed over with `cacheJwks`, so neither side fetches
 * keys) plus the full `@aws-sdk/client-dynamodb` `BatchGetItemCommand`, doing the same checks
 * as ours: signature, issuer, audience, `typ`, the denylist in one round trip.
 */
import { BatchGetItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { JwtVerifier } from 'aws-jwt-verify';

const client = new DynamoDBClient({});
const verifier = JwtVerifier.create({
  issuer: process.env.ISSUER ?? '',
  audience: process.env.AUDIENCE ?? '',
  jwksUri: `${process.env.ISSUER ?? ''}/.well-known/jwks.json`,
  customJwtCheck: ({ header }) => {
    if (header.typ !== 'at+jwt') throw new Error('wrong typ');
  },
});
verifier.cacheJwks(JSON.parse(process.env.PUBLIC_JWKS ?? '{}') as Parameters<typeof verifier.cacheJwks>[0]);

export async function handler(event: { headers?: Record<string, string | undefined> }): Promise<{ isAuthorized: boolean; context: Record<string, string> }> {
  const token = (event.headers?.authorization ?? '').slice(7);
  let payload;
  try {
    payload = verifier.verifySync(token);
  } catch {
    throw new Error('Unauthorized');
  }
  for (const claim of ['jti', 'sid', 'sub', 'iat'] as const) if (payload[claim] === undefined) throw new Error('Unauthorized');
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
