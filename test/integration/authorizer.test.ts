/**
 * The authorizer, production wiring (`createAuthorizer`: SigV4 client, denylist reader, KMS key
 * source), against DynamoDB Local and the KMS stand-in. Tokens are signed by the stand-in's
 * KMS `Sign`, exactly as login/refresh sign them.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizerClientsFromEnv, createAuthorizer } from '../../lambdas/authorizer/authorizer-handler.ts';
import type { Authorizer } from '../../lambdas/authorizer/authorizer-handler.ts';
import { parseAuthorizerConfig } from '../../lambdas/config/authorizer.ts';
import { derToJoseSignature } from '../../lambdas/core/ecdsa-signature.ts';
import { denylistKey, DENYLIST_SK } from '../../lambdas/core/token-model.ts';
import { verificationKeyFromSpki } from '../../lambdas/core/verification-key.ts';
import { startDynamoDbLocal, type DynamoDbLocal } from '../../local/dynamodb-local.ts';
import { startKmsStandin, type KmsStandin } from '../../local/kms-standin/server.ts';
import { createServiceTable } from '../../local/table.ts';

const TABLE = 'authorizer-test';
const ISS = 'https://auth.local.test';
const AUD = 'https://api.local.test';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
let ddbLocal: DynamoDbLocal;
let kmsLocal: KmsStandin;
let ddb: DynamoDBClient;
let kms: KMSClient;
let keyId: string;
let kid: string;
let env: Record<string, string>;

const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: string | Uint8Array) => Buffer.from(value).toString('base64url');

async function mint(overrides: Record<string, unknown> = {}): Promise<string> {
  const t = now();
  const header = b64(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid }));
  const payload = b64(
    JSON.stringify({ iss: ISS, sub: 'u1', aud: AUD, exp: t + 900, iat: t, jti: randomUUID(), client_id: 'cli', scope: 'openid', sid: 'sid-1', auth_time: t - 5, ...overrides }),
  );
  const signed = await kms.send(
    new SignCommand({ KeyId: keyId, Message: Buffer.from(`${header}.${payload}`), MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }),
  );
  if (signed.Signature === undefined) throw new Error('no signature');
  return `${header}.${payload}.${b64(derToJoseSignature(signed.Signature))}`;
}

function event(path: '/whoami' | '/admin', token: string): unknown {
  const e = JSON.parse(readFileSync(new URL(`../fixtures/events/http-v2-request-${path.slice(1)}.json`, import.meta.url), 'utf8')) as {
    headers: Record<string, string>;
    identitySource: string[];
  };
  e.headers.authorization = `Bearer ${token}`;
  e.identitySource = [`Bearer ${token}`];
  return e;
}

async function deny(pk: string, expiresAt: number, notBefore?: number): Promise<void> {
  await ddb.send(
    new PutItemCommand({
      TableName: TABLE,
      Item: {
        pk: { S: pk },
        sk: { S: DENYLIST_SK },
        expiresAt: { N: String(expiresAt) },
        ttl: { N: String(expiresAt) },
        ...(notBefore === undefined ? {} : { notBefore: { N: String(notBefore) } }),
      },
    }),
  );
}

beforeAll(async () => {
  [ddbLocal, kmsLocal] = await Promise.all([startDynamoDbLocal(), startKmsStandin({ region: 'eu-west-1' })]);
  ddb = new DynamoDBClient({ endpoint: ddbLocal.endpoint, region: 'eu-west-1', credentials });
  kms = new KMSClient({ endpoint: kmsLocal.endpoint, region: 'eu-west-1', credentials });
  await createServiceTable(ddb, TABLE);
  ({ keyId } = await kmsLocal.createKey('ECC_NIST_P256', 'alias/authorizer-test'));
  const pub = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
  if (pub.PublicKey === undefined) throw new Error('no public key');
  kid = verificationKeyFromSpki(pub.PublicKey).kid;
  env = {
    TABLE_NAME: TABLE,
    ISSUER: ISS,
    AUDIENCE: AUD,
    SIGNING_ALG: 'ES256',
    VERIFY_KEY_IDS: 'alias/authorizer-test',
    ROUTE_SCOPES: '{"GET /admin":["admin"]}',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: ddbLocal.endpoint,
    AWS_ENDPOINT_URL_KMS: kmsLocal.endpoint,
  };
}, 180_000);

afterAll(async () => {
  await Promise.all([ddbLocal?.stop(), kmsLocal?.close()]);
});

const fresh = (): Authorizer => {
  kmsLocal.resetCalls();
  return createAuthorizer(parseAuthorizerConfig(env), authorizerClientsFromEnv(env));
};

describe('authorizer against DynamoDB Local and the KMS stand-in', () => {
  it('allows a KMS-signed token and calls KMS once per container, never per request', async () => {
    const authorizer = fresh();
    for (let i = 0; i < 5; i++) {
      expect(await authorizer.decide(event('/whoami', await mint()))).toMatchObject({ effect: 'allow', context: { sub: 'u1', sid: 'sid-1' } });
    }
    expect(kmsLocal.calls().GetPublicKey).toBe(1);
  });

  it('answers 403 on /admin for a token without the admin scope', async () => {
    expect(await fresh().decide(event('/admin', await mint()))).toMatchObject({ status: 403, error: 'insufficient_scope' });
  });

  it('stops a token at once when its jti is denied', async () => {
    const authorizer = fresh();
    const jti = randomUUID();
    const token = await mint({ jti });
    expect((await authorizer.decide(event('/whoami', token))).effect).toBe('allow');
    await deny(denylistKey.token(jti), now() + 900);
    expect(await authorizer.decide(event('/whoami', token))).toMatchObject({ status: 401, description: 'token revoked' });
  });

  it('stops every token of a revoked session at once', async () => {
    const sid = randomUUID();
    await deny(denylistKey.session(sid), now() + 900);
    expect(await fresh().decide(event('/whoami', await mint({ sid })))).toMatchObject({ status: 401, description: 'session revoked' });
  });

  it('stops tokens from before a logout-everywhere, and not those from a later login', async () => {
    const sub = `user-${randomUUID()}`;
    const t = now();
    await deny(denylistKey.user(sub), t + 900, t - 10);
    const authorizer = fresh();
    expect(await authorizer.decide(event('/whoami', await mint({ sub, auth_time: t - 10 })))).toMatchObject({ status: 401 });
    expect((await authorizer.decide(event('/whoami', await mint({ sub, auth_time: t - 9 })))).effect).toBe('allow');
  });

  it('ignores a denylist item whose expiresAt has passed but that TTL has not deleted yet', async () => {
    const sid = randomUUID();
    await deny(denylistKey.session(sid), now() - 1);
    expect((await fresh().decide(event('/whoami', await mint({ sid })))).effect).toBe('allow');
  });

  it('fails closed (503) when the denylist table cannot be read', async () => {
    const authorizer = createAuthorizer(parseAuthorizerConfig({ ...env, TABLE_NAME: 'no-such-table' }), authorizerClientsFromEnv(env));
    expect(await authorizer.decide(event('/whoami', await mint()))).toMatchObject({ status: 503, error: 'temporarily_unavailable' });
  });

  it('answers 401 for a token signed by another KMS key, after at most one key reload', async () => {
    const other = await kmsLocal.createKey('ECC_NIST_P256');
    const authorizer = fresh();
    await authorizer.decide(event('/whoami', await mint()));
    const t = now();
    const header = b64(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: b64(createHash('sha256').update(other.keyId).digest()) }));
    const payload = b64(JSON.stringify({ iss: ISS, sub: 'admin', aud: AUD, exp: t + 900, iat: t, jti: 'x', client_id: 'c', scope: 'admin', sid: 's', auth_time: t }));
    const signed = await kms.send(new SignCommand({ KeyId: other.keyId, Message: Buffer.from(`${header}.${payload}`), MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }));
    const forged = `${header}.${payload}.${b64(derToJoseSignature(signed.Signature ?? new Uint8Array()))}`;
    for (let i = 0; i < 3; i++) expect(await authorizer.decide(event('/admin', forged))).toMatchObject({ status: 401 });
    expect(kmsLocal.calls().GetPublicKey).toBeLessThanOrEqual(2);
  });
});
