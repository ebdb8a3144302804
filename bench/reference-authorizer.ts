/**
 * Bench-only reference: an HTTP API simple authorizer built the usual way, aws-jwt-verify (the
 * JWKS handed over with `cacheJwks`, so neither side fetches keys) plus `@aws-sdk/client-dynamodb`,
 * doing the same checks as ours (signature with the expected algorithm, issuer, audience, `typ`)
 * and the same revocation read: env `REFERENCE_READ` is the operation and request our authorizer
 * sends (bench/read-shape.ts), sent here through the SDK's command for it.
 */
import { BatchGetItemCommand, DynamoDBClient, GetItemCommand, QueryCommand, TransactGetItemsCommand } from '@aws-sdk/client-dynamodb';
import { JwtVerifier } from 'aws-jwt-verify';
import { fillReadShape, itemsOf, revokes } from './read-shape.ts';
import type { ReadShape } from './read-shape.ts';

const client = new DynamoDBClient({});
const verifier = JwtVerifier.create({
  issuer: process.env.ISSUER ?? '',
  audience: process.env.AUDIENCE ?? '',
  jwksUri: `${process.env.ISSUER ?? ''}/.well-known/jwks.json`,
  customJwtCheck: ({ header }) => {
    if (header.typ !== 'at+jwt') throw new Error('wrong typ');
    if (header.alg !== process.env.SIGNING_ALG) throw new Error('unexpected alg');
  },
});
verifier.cacheJwks(JSON.parse(process.env.PUBLIC_JWKS ?? '{}') as Parameters<typeof verifier.cacheJwks>[0]);
const read = JSON.parse(process.env.REFERENCE_READ ?? '{}') as ReadShape;

type AnyCommand = new (input: never) => Parameters<typeof client.send>[0];
const COMMANDS: Record<string, AnyCommand> = {
  BatchGetItem: BatchGetItemCommand as unknown as AnyCommand,
  GetItem: GetItemCommand as unknown as AnyCommand,
  Query: QueryCommand as unknown as AnyCommand,
  TransactGetItems: TransactGetItemsCommand as unknown as AnyCommand,
};
const Command = COMMANDS[read.operation];

export async function handler(event: { headers?: Record<string, string | undefined> }): Promise<{ isAuthorized: boolean; context: Record<string, string> }> {
  if (Command === undefined) throw new Error(`REFERENCE_READ: no SDK command for ${String(read.operation)}`);
  const token = (event.headers?.authorization ?? '').slice(7);
  let payload;
  try {
    payload = verifier.verifySync(token);
  } catch {
    throw new Error('Unauthorized');
  }
  const { jti, sid, sub, auth_time: authTime } = payload;
  if (typeof jti !== 'string' || typeof sid !== 'string' || typeof sub !== 'string' || typeof authTime !== 'number') throw new Error('Unauthorized');
  const input = fillReadShape(read.template, { jti, sid, sub }) as never;
  const result = await client.send(new Command(input));
  const now = Math.floor(Date.now() / 1000);
  if (itemsOf(read.operation, result).some((item) => revokes(item, authTime, now))) throw new Error('Unauthorized');
  return { isAuthorized: true, context: { sub, scope: String(payload.scope), sid, jti } };
}
