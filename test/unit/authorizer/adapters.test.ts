/**
 * The authorizer's AWS adapters against a local HTTP server that plays DynamoDB/KMS: one
 * GetItem per token, unreadable answers, throttling, timeouts.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AwsJsonClient } from '../../../lambdas/adapters/aws/aws-json-client.ts';
import { withDeadline } from '../../../lambdas/adapters/aws/deadline.ts';
import type { Deadline } from '../../../lambdas/adapters/aws/deadline.ts';
import { CachedDenylistReader, DynamoDbDenylistReader } from '../../../lambdas/adapters/dynamodb/denylist-reader.ts';
import { PublicKeyRing, sigV4GetPublicKey, StaticJwksSource } from '../../../lambdas/adapters/kms/public-key-source.ts';
import { NO_REVOCATIONS } from '../../../lambdas/core/denylist-policy.ts';
import { ConfigurationError, DependencyUnavailableError } from '../../../lambdas/core/errors.ts';
import { loadPublicKey } from '../../../lambdas/adapters/kms/public-key-loader.ts';
import { generateTestKey } from '../verifier/token-factory.ts';

type Handler = (target: string, body: Record<string, unknown>, req: IncomingMessage, res: ServerResponse) => void;
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function fakeAws(handler: Handler): Promise<{ endpoint: string; requests: { target: string; body: Record<string, unknown>; headers: IncomingMessage['headers'] }[] }> {
  const requests: { target: string; body: Record<string, unknown>; headers: IncomingMessage['headers'] }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      const target = String(req.headers['x-amz-target']);
      requests.push({ target, body, headers: req.headers });
      handler(target, body, req, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
  res.end(JSON.stringify(body));
};
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token' };
const client = (endpoint: string, service: 'dynamodb' | 'kms' = 'dynamodb') =>
  new AwsJsonClient({ service, region: 'eu-west-1', endpoint: new URL(endpoint), credentials });
const KEYS = 'u';

/** Every listed key through the authorizer's SigV4 `GetPublicKey` and the one public-key loader. */
const loadAll = (kms: AwsJsonClient, keyIds: readonly string[]) => Promise.all(keyIds.map((keyId) => loadPublicKey(sigV4GetPublicKey(kms), keyId)));

describe('DynamoDB denylist reader', () => {
  it('reads the user\'s revocation item in one strongly consistent GetItem', async () => {
    const aws = await fakeAws((_t, _b, _q, res) => json(res, 200, {}));
    expect(await new DynamoDbDenylistReader(client(aws.endpoint), 'auth').read(KEYS)).toEqual(NO_REVOCATIONS);
    expect(aws.requests).toHaveLength(1);
    expect(aws.requests[0]?.target).toBe('DynamoDB_20120810.GetItem');
    expect(aws.requests[0]?.body).toEqual({ TableName: 'auth', Key: { pk: { S: 'DENY#SUB#u' }, sk: { S: 'DENY' } }, ConsistentRead: true });
  });

  it('reads logout, sessions, tokens and the cutoff from the item', async () => {
    const aws = await fakeAws((_t, _b, _q, res) =>
      json(res, 200, {
        Item: {
          pk: { S: 'DENY#SUB#u' }, sk: { S: 'DENY' }, version: { N: '3' },
          notBefore: { N: '1000' }, notBeforeMs: { N: '1000250' }, expiresAt: { N: '2000' }, reason: { S: 'logout_all' },
          issuedBy: { N: '900' }, issuedByUntil: { N: '1900' },
          sids: { M: { s1: { N: '1500' } } }, jtis: { M: { j1: { N: '1600' } } },
        },
      }),
    );
    expect(await new DynamoDbDenylistReader(client(aws.endpoint), 'auth').read(KEYS)).toEqual({
      logout: { atSeconds: 1000, atMs: 1000250, until: 2000, reason: 'logout_all' },
      cutoff: { iatSeconds: 900, until: 1900 },
      sessions: new Map([['s1', 1500]]),
      tokens: new Map([['j1', 1600]]),
    });
  });

  it('reads a garbled item as unreadable (the policy then denies)', async () => {
    for (const item of [
      { sids: { L: [] } },
      { sids: { M: { s1: { S: 'soon' } } } },
      { notBefore: { N: '1000' } },
      { notBefore: { S: '1000' }, expiresAt: { N: '2000' } },
      { issuedBy: { N: '1000' } },
      { version: { N: 'x' } },
      { reason: { N: '1' }, notBefore: { N: '1' }, expiresAt: { N: '2' } },
    ]) {
      const aws = await fakeAws((_t, _b, _q, res) => json(res, 200, { Item: { pk: { S: 'DENY#SUB#u' }, sk: { S: 'DENY' }, ...item } }));
      expect(await new DynamoDbDenylistReader(client(aws.endpoint), 'auth').read(KEYS), JSON.stringify(item)).toBe('unreadable');
    }
  });

  it('fails closed on a 200 it cannot read, never reading it as "nothing revoked"', async () => {
    for (const body of ['', '[]', 'null', '"x"']) {
      const aws = await fakeAws((_t, _b, _q, res) => {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(body);
      });
      await expect(new DynamoDbDenylistReader(client(aws.endpoint), 'auth').read(KEYS), body).rejects.toBeInstanceOf(DependencyUnavailableError);
    }
  });

  it('fails closed on ProvisionedThroughputExceededException', async () => {
    const aws = await fakeAws((_t, _b, _q, res) =>
      json(res, 400, { __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message: 'slow down' }),
    );
    await expect(new DynamoDbDenylistReader(client(aws.endpoint), 'auth').read(KEYS)).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(aws.requests).toHaveLength(1);
  });

  it('fails closed when DynamoDB does not answer within the budget', async () => {
    const aws = await fakeAws(() => undefined);
    const start = Date.now();
    await expect(new DynamoDbDenylistReader(client(aws.endpoint), 'auth', 200).read(KEYS)).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(Date.now() - start).toBeLessThan(1500);
  });

  it('fails closed when nothing listens', async () => {
    await expect(new DynamoDbDenylistReader(client('http://127.0.0.1:1'), 'auth').read(KEYS)).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it('with the optional cache, serves a repeated user from memory until the TTL passes', async () => {
    const aws = await fakeAws((_t, _b, _q, res) => json(res, 200, {}));
    let now = 0;
    const reader = new CachedDenylistReader(new DynamoDbDenylistReader(client(aws.endpoint), 'auth'), 5000, () => now);
    await reader.read(KEYS);
    now = 4999;
    await reader.read(KEYS);
    expect(aws.requests).toHaveLength(1);
    now = 5000;
    await reader.read(KEYS);
    expect(aws.requests).toHaveLength(2);
  });

  it('with the optional cache, never remembers an outage', async () => {
    let fail = true;
    const aws = await fakeAws((_t, _b, _q, res) => (fail ? json(res, 500, { __type: 'InternalServerError' }) : json(res, 200, {})));
    const reader = new CachedDenylistReader(new DynamoDbDenylistReader(client(aws.endpoint), 'auth'), 5000, () => 0);
    await expect(reader.read(KEYS)).rejects.toBeInstanceOf(DependencyUnavailableError);
    fail = false;
    await expect(reader.read(KEYS)).resolves.toBeDefined();
  });
});

describe('public keys', () => {
  it('loads several KMS keys with one GetPublicKey each and keys them by RFC 7638 thumbprint', async () => {
    const es = generateTestKey('ES256');
    const rsa = generateTestKey('RS256');
    const byId: Record<string, [typeof es, string]> = { k1: [es, 'ECC_NIST_P256'], k2: [rsa, 'RSA_2048'] };
    const aws = await fakeAws((_t, body, _q, res) => {
      const entry = byId[String(body.KeyId)];
      if (entry === undefined) return json(res, 400, { __type: 'NotFoundException' });
      json(res, 200, {
        KeyId: body.KeyId,
        KeySpec: entry[1],
        KeyUsage: 'SIGN_VERIFY',
        PublicKey: entry[0].publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
      });
    });
    const keys = await loadAll(client(aws.endpoint, 'kms'), ['k1', 'k2']);
    expect(keys.map((key) => key.kid).sort()).toEqual([es.kid, rsa.kid].sort());
    expect(aws.requests.map((r) => r.target)).toEqual(['TrentService.GetPublicKey', 'TrentService.GetPublicKey']);
    expect(aws.requests[0]?.headers['content-type']).toBe('application/x-amz-json-1.1');
  });

  it('refuses a KMS key that is not for signing', async () => {
    const es = generateTestKey('ES256');
    const aws = await fakeAws((_t, _b, _q, res) =>
      json(res, 200, { KeySpec: 'ECC_NIST_P256', KeyUsage: 'ENCRYPT_DECRYPT', PublicKey: es.publicKey.export({ format: 'der', type: 'spki' }).toString('base64') }),
    );
    await expect(loadAll(client(aws.endpoint, 'kms'), ['k1'])).rejects.toThrow(/SIGN_VERIFY/);
  });

  it('refuses, with the same ConfigurationError as every other function, a key spec the service does not sign with', async () => {
    const rsa = generateTestKey('RS256');
    const aws = await fakeAws((_t, _b, _q, res) =>
      json(res, 200, { KeySpec: 'RSA_3072', KeyUsage: 'SIGN_VERIFY', PublicKey: rsa.publicKey.export({ format: 'der', type: 'spki' }).toString('base64') }),
    );
    await expect(loadAll(client(aws.endpoint, 'kms'), ['k1'])).rejects.toThrow(ConfigurationError);
    await expect(loadPublicKey(() => Promise.resolve({ KeySpec: 'RSA_3072', KeyUsage: 'SIGN_VERIFY', PublicKey: rsa.publicKey.export({ format: 'der', type: 'spki' }) }), 'k1')).rejects.toThrow(
      ConfigurationError,
    );
  });

  it('refuses a key whose KeySpec and public key disagree', async () => {
    const es = generateTestKey('ES256');
    const answer = { KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY', PublicKey: es.publicKey.export({ format: 'der', type: 'spki' }) };
    await expect(loadPublicKey(() => Promise.resolve(answer), 'k1')).rejects.toThrow(ConfigurationError);
  });

  it('reads the SDK answer (bytes) and the JSON-protocol answer (base64) to the same key', async () => {
    const es = generateTestKey('ES256');
    const der = es.publicKey.export({ format: 'der', type: 'spki' });
    const fromSdk = await loadPublicKey(() => Promise.resolve({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', PublicKey: new Uint8Array(der) }), 'k1');
    const fromJson = await loadPublicKey(() => Promise.resolve({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', PublicKey: der.toString('base64') }), 'k1');
    expect(fromSdk.kid).toBe(es.kid);
    expect(fromJson.kid).toBe(es.kid);
    expect(fromSdk.jwk).toMatchObject({ kid: es.kid, alg: 'ES256', use: 'sig', kty: 'EC', crv: 'P-256' });
  });

  it('reports a failed GetPublicKey call as a KMS outage', async () => {
    await expect(loadPublicKey(() => Promise.reject(new Error('socket hang up')), 'k1')).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it('reports KMS throttling as a dependency outage', async () => {
    const aws = await fakeAws((_t, _b, _q, res) => json(res, 400, { __type: 'ThrottlingException' }));
    await expect(loadAll(client(aws.endpoint, 'kms'), ['k1'])).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it('loads PUBLIC_JWKS at construction and never calls anything afterwards', async () => {
    const es = generateTestKey('ES256');
    const source = new StaticJwksSource(JSON.stringify({ keys: [{ ...es.publicKey.export({ format: 'jwk' }), kid: es.kid, alg: 'ES256', use: 'sig' }] }));
    const ring = new PublicKeyRing(source);
    expect((await ring.current()).get(es.kid)?.alg).toBe('ES256');
  });

  it('refuses a PUBLIC_JWKS that is not JSON, or holds no keys', () => {
    expect(() => new StaticJwksSource('{"keys":[')).toThrow(/not valid JSON/);
    expect(() => new StaticJwksSource('{"keys":[]}')).toThrow(/no keys/);
  });

  it('shares one in-flight load between concurrent first requests', async () => {
    let loads = 0;
    const ring = new PublicKeyRing({ load: () => (loads++, new Promise((resolve) => setTimeout(() => resolve(new Map()), 20))) });
    await Promise.all([ring.current(), ring.current(), ring.current()]);
    expect(loads).toBe(1);
  });
});

describe('withDeadline', () => {
  it('expires the deadline when the budget runs out, telling each listener once', async () => {
    let calls = 0;
    const seen = await withDeadline(
      30,
      (deadline) =>
        new Promise<boolean>((resolve) => {
          deadline.onExpire(() => {
            calls++;
            deadline.expire(); // a second expiry is a no-op
            resolve(deadline.expired);
          });
        }),
    );
    expect(seen).toBe(true);
    expect(calls).toBe(1);
  });
  it('does not call a listener that unsubscribed', async () => {
    let called = false;
    const expired = await withDeadline(20, async (deadline) => {
      deadline.onExpire(() => {
        called = true;
      })();
      await new Promise((resolve) => setTimeout(resolve, 50));
      return deadline.expired;
    });
    expect(expired).toBe(true);
    expect(called).toBe(false);
  });
  it('clears its timer once the work settles, success or failure', async () => {
    const kept = await withDeadline(20, async (deadline) => deadline);
    let failed: Deadline | undefined;
    await expect(
      withDeadline(20, async (deadline) => {
        failed = deadline;
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(kept.expired).toBe(false);
    expect(failed?.expired).toBe(false);
  });
});
