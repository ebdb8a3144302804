/**
 * The authorizer, production wiring (`createAuthorizer`: SigV4 client, denylist reader, KMS key
 * source), against DynamoDB Local and the KMS stand-in. Tokens are signed by the stand-in's
 * KMS `Sign`, exactly as login/refresh sign them.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizerClientsFromEnv, createAuthorizer } from '../../lambdas/authorizer/authorizer-handler.ts';
import type { Authorizer } from '../../lambdas/authorizer/authorizer-handler.ts';
import { parseAuthorizerConfig } from '../../lambdas/config/authorizer.ts';
import { derToJoseSignature } from '../../lambdas/core/ecdsa-signature.ts';
import { DynamoDbRevocations } from '../../lambdas/adapters/dynamodb/denylist.ts';
import { MAX_REVOKED_ENTRIES } from '../../lambdas/core/denylist-policy.ts';
import { DENYLIST_SK, revocationKey } from '../../lambdas/core/token-model.ts';
import { verificationKeyFromSpki } from '../../lambdas/core/verification-key.ts';
import { startDynamoDbLocal, type DynamoDbLocal } from '../../local/dynamodb-local.ts';
import { startKmsStandin, type KmsStandin } from '../../local/kms-standin/server.ts';
import { createServiceTable } from '../../local/table.ts';
import { startCountingProxy } from '../support/counting-proxy.ts';

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

const revocations = () => new DynamoDbRevocations(ddb, TABLE);

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

  it('reads the revocation state (token, session, user) with exactly one GetItem per warm decision; the key registry once, at cold start', async () => {
    const proxy = await startCountingProxy();
    proxy.setUpstream(ddbLocal.endpoint);
    try {
      const proxied = { ...env, AWS_ENDPOINT_URL_DYNAMODB: proxy.url };
      const token = await mint();
      proxy.reset();
      const authorizer = createAuthorizer(parseAuthorizerConfig(proxied), authorizerClientsFromEnv(proxied));
      expect((await authorizer.decide(event('/whoami', token))).effect).toBe('allow');
      expect(proxy.counts()).toEqual({ GetItem: 2 });
      for (let i = 0; i < 3; i++) {
        proxy.reset();
        expect((await authorizer.decide(event('/whoami', token))).effect).toBe('allow');
        expect(proxy.counts()).toEqual({ GetItem: 1 });
      }
    } finally {
      await proxy.close();
    }
  });

  it('reads one read unit even with the revocation item at its cap of sessions and tokens', async () => {
    const sub = `user-${randomUUID()}`;
    const writer = revocations();
    const t = now();
    await writer.apply(sub, { kind: 'user', atSeconds: t - 100, atMs: (t - 100) * 1000, until: t + 3_000_000, reason: 'user_disabled' });
    // Our real ids: a UUID jti (36 characters) and a 22-character sid; all tokens, the larger case.
    for (let i = 0; i < MAX_REVOKED_ENTRIES; i++) await writer.denyToken(sub, randomUUID(), t + 3600 + i);
    const read = await ddb.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: revocationKey(sub) }, sk: { S: DENYLIST_SK } }, ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' }),
    );
    expect(Object.keys(read.Item?.jtis?.M ?? {})).toHaveLength(MAX_REVOKED_ENTRIES);
    expect(read.Item?.issuedBy).toBeUndefined();
    expect(read.ConsumedCapacity?.CapacityUnits).toBe(1);
    // The measurement can fail: the same read of an item past 4 KB costs two units.
    await ddb.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: `big-${sub}` }, sk: { S: DENYLIST_SK }, pad: { S: 'x'.repeat(4200) } } }));
    const big = await ddb.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: `big-${sub}` }, sk: { S: DENYLIST_SK } }, ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' }),
    );
    expect(big.ConsumedCapacity?.CapacityUnits).toBe(2);
    // One more entry: the fallback, not a larger item.
    await writer.apply(sub, { kind: 'session', sid: 'A'.repeat(22), until: t + 900 });
    const after = await ddb.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: revocationKey(sub) }, sk: { S: DENYLIST_SK } }, ConsistentRead: true }));
    expect(after.Item?.jtis).toBeUndefined();
    expect(after.Item?.issuedBy?.N).toBeDefined();
    expect(Object.keys(after.Item?.sids?.M ?? {})).toEqual(['A'.repeat(22)]);
  });

  it('answers 403 on /admin for a token without the admin scope', async () => {
    expect(await fresh().decide(event('/admin', await mint()))).toMatchObject({ status: 403, error: 'insufficient_scope' });
  });

  it('stops a token at once when its jti is denied', async () => {
    const authorizer = fresh();
    const jti = randomUUID();
    const token = await mint({ jti });
    expect((await authorizer.decide(event('/whoami', token))).effect).toBe('allow');
    await revocations().denyToken('u1', jti, now() + 900);
    expect(await authorizer.decide(event('/whoami', token))).toMatchObject({ status: 401, description: 'token revoked' });
  });

  it('stops every token of a revoked session at once', async () => {
    const sid = randomUUID();
    await revocations().apply('u1', { kind: 'session', sid, until: now() + 900 });
    expect(await fresh().decide(event('/whoami', await mint({ sid })))).toMatchObject({ status: 401, description: 'session revoked' });
  });

  it('stops tokens from before a logout-everywhere, and not those from a later login', async () => {
    const sub = `user-${randomUUID()}`;
    const t = now();
    await revocations().apply(sub, { kind: 'user', atSeconds: t - 10, atMs: (t - 10) * 1000, until: t + 900, reason: 'logout_all' });
    const authorizer = fresh();
    expect(await authorizer.decide(event('/whoami', await mint({ sub, auth_time: t - 10 })))).toMatchObject({ status: 401 });
    expect((await authorizer.decide(event('/whoami', await mint({ sub, auth_time: t - 9 })))).effect).toBe('allow');
  });

  it('ignores a revoked session whose until has passed but that is still in the item', async () => {
    const sub = `user-${randomUUID()}`;
    const sid = randomUUID();
    await revocations().apply(sub, { kind: 'session', sid, until: now() + 1 });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect((await fresh().decide(event('/whoami', await mint({ sub, sid })))).effect).toBe('allow');
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
