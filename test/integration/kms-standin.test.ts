/**
 * The KMS stand-in, driven by the real @aws-sdk/client-kms: what the Lambdas will see locally
 * must be what they see against KMS (DER signatures, SPKI public keys, named exceptions).
 */
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  GetPublicKeyCommand,
  KMSClient,
  SignCommand,
  VerifyCommand,
} from '@aws-sdk/client-kms';
import type { SigningAlgorithmSpec } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKmsStandin } from '../../local/kms-standin/server.ts';
import type { KmsStandin } from '../../local/kms-standin/server.ts';

let kms: KmsStandin;
let client: KMSClient;
let ecKey: { keyId: string; arn: string };
let rsaKey: { keyId: string; arn: string };

function newClient(endpoint: string, maxAttempts = 1): KMSClient {
  return new KMSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts,
  });
}

async function errorName(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return err instanceof Error ? err.name : 'non-Error thrown';
  }
  return 'no error';
}

async function publicKeyOf(keyId: string) {
  const out = await client.send(new GetPublicKeyCommand({ KeyId: keyId }));
  if (out.PublicKey === undefined) throw new Error('no PublicKey');
  return createPublicKey({ key: Buffer.from(out.PublicKey), format: 'der', type: 'spki' });
}

/** Raw HTTP to the stand-in, for requests the SDK would never send. */
function rawRequest(
  method: string,
  path: string,
  headers: Record<string, string>,
  body = '',
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(path, kms.endpoint);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

const SIGNED_HEADERS = {
  'Content-Type': 'application/x-amz-json-1.1',
  Authorization:
    'AWS4-HMAC-SHA256 Credential=local/20250101/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=' +
    'a'.repeat(64),
  'X-Amz-Date': '20250101T000000Z',
};

beforeAll(async () => {
  kms = await startKmsStandin({ port: 0 });
  client = newClient(kms.endpoint);
  ecKey = await kms.createKey('ECC_NIST_P256', 'alias/test-ec');
  rsaKey = await kms.createKey('RSA_2048', 'alias/test-rsa');
});

afterAll(async () => {
  client.destroy();
  await kms.close();
});

describe('KMS stand-in: keys and aliases', () => {
  it('creates an ECC_NIST_P256 SIGN_VERIFY key with the metadata KMS returns', async () => {
    const out = await client.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
    const meta = out.KeyMetadata;
    expect(meta?.KeyId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(meta?.Arn).toBe(`arn:aws:kms:us-east-1:111122223333:key/${meta?.KeyId ?? ''}`);
    expect(meta?.KeySpec).toBe('ECC_NIST_P256');
    expect(meta?.KeyUsage).toBe('SIGN_VERIFY');
    expect(meta?.KeyState).toBe('Enabled');
    expect(meta?.Enabled).toBe(true);
    expect(meta?.SigningAlgorithms).toEqual(['ECDSA_SHA_256']);
    expect(meta?.CreationDate).toBeInstanceOf(Date);
    expect(Math.abs((meta?.CreationDate?.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);
  });

  it('lists the RSA signing algorithms KMS supports for RSA_2048', async () => {
    const out = await client.send(new GetPublicKeyCommand({ KeyId: rsaKey.keyId }));
    expect(out.SigningAlgorithms).toEqual([
      'RSASSA_PSS_SHA_256',
      'RSASSA_PSS_SHA_384',
      'RSASSA_PSS_SHA_512',
      'RSASSA_PKCS1_V1_5_SHA_256',
      'RSASSA_PKCS1_V1_5_SHA_384',
      'RSASSA_PKCS1_V1_5_SHA_512',
    ]);
  });

  it('resolves a key by key ID, key ARN, alias name and alias ARN', async () => {
    for (const ref of [ecKey.keyId, ecKey.arn, 'alias/test-ec', 'arn:aws:kms:us-east-1:111122223333:alias/test-ec']) {
      const out = await client.send(new GetPublicKeyCommand({ KeyId: ref }));
      expect(out.KeyId, ref).toBe(ecKey.arn);
    }
  });

  it('rejects an alias name without the alias/ prefix with ValidationException', async () => {
    expect(await errorName(client.send(new CreateAliasCommand({ AliasName: 'no-prefix', TargetKeyId: ecKey.keyId })))).toBe(
      'ValidationException',
    );
  });

  it('rejects a duplicate alias with AlreadyExistsException', async () => {
    expect(
      await errorName(client.send(new CreateAliasCommand({ AliasName: 'alias/test-ec', TargetKeyId: rsaKey.keyId }))),
    ).toBe('AlreadyExistsException');
  });

  it('rejects the reserved alias/aws/ prefix with InvalidAliasNameException', async () => {
    expect(
      await errorName(client.send(new CreateAliasCommand({ AliasName: 'alias/aws/mine', TargetKeyId: ecKey.keyId }))),
    ).toBe('InvalidAliasNameException');
  });

  it('answers NotFoundException for an unknown key ID, alias, or an ARN in another account', async () => {
    const refs = [
      '00000000-0000-4000-8000-000000000000',
      'alias/does-not-exist',
      `arn:aws:kms:us-east-1:999999999999:key/${ecKey.keyId}`,
      `arn:aws:kms:eu-west-1:111122223333:key/${ecKey.keyId}`,
      'not-a-key-id',
    ];
    for (const ref of refs) {
      expect(await errorName(client.send(new GetPublicKeyCommand({ KeyId: ref }))), ref).toBe('NotFoundException');
    }
  });

  it('answers UnsupportedOperationException for a key spec it does not implement', async () => {
    // SYMMETRIC_DEFAULT is implemented (TOTP secrets, kms-standin-encrypt.test.ts); HMAC keys are not.
    expect(await errorName(client.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })))).toBe(
      'UnsupportedOperationException',
    );
  });
});

describe('KMS stand-in: GetPublicKey and Sign', () => {
  it('returns a DER SubjectPublicKeyInfo that node:crypto parses as a P-256 key', async () => {
    const out = await client.send(new GetPublicKeyCommand({ KeyId: 'alias/test-ec' }));
    expect(out.KeyId).toBe(ecKey.arn);
    expect(out.KeySpec).toBe('ECC_NIST_P256');
    expect(out.KeyUsage).toBe('SIGN_VERIFY');
    expect(out.SigningAlgorithms).toEqual(['ECDSA_SHA_256']);
    const key = createPublicKey({ key: Buffer.from(out.PublicKey ?? new Uint8Array()), format: 'der', type: 'spki' });
    expect(key.asymmetricKeyType).toBe('ec');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('signs RAW with ECDSA_SHA_256 as a DER signature, not 64-byte r||s', async () => {
    const message = Buffer.from('header.payload');
    const out = await client.send(
      new SignCommand({ KeyId: ecKey.keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }),
    );
    const signature = Buffer.from(out.Signature ?? new Uint8Array());
    expect(out.KeyId).toBe(ecKey.arn);
    expect(out.SigningAlgorithm).toBe('ECDSA_SHA_256');
    expect(signature[0]).toBe(0x30); // DER SEQUENCE
    expect(signature.length).not.toBe(64);
    const key = await publicKeyOf(ecKey.keyId);
    expect(nodeVerify('sha256', message, { key, dsaEncoding: 'der' }, signature)).toBe(true);
    expect(nodeVerify('sha256', Buffer.from('other'), { key, dsaEncoding: 'der' }, signature)).toBe(false);
  });

  it('answers UnsupportedOperationException for MessageType DIGEST, which the project never sends', async () => {
    const digest = createHash('sha256').update('m').digest();
    for (const [key, algorithm] of [
      [ecKey, 'ECDSA_SHA_256'],
      [rsaKey, 'RSASSA_PKCS1_V1_5_SHA_256'],
    ] as const) {
      expect(
        await errorName(client.send(new SignCommand({ KeyId: key.keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: algorithm }))),
      ).toBe('UnsupportedOperationException');
    }
  });

  it.each(['RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PSS_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_512', 'RSASSA_PSS_SHA_384'] as const)(
    'signs RAW with %s so node:crypto verifies it',
    async (algorithm: SigningAlgorithmSpec) => {
      const hash = algorithm.endsWith('256') ? 'sha256' : algorithm.endsWith('384') ? 'sha384' : 'sha512';
      const pss = algorithm.startsWith('RSASSA_PSS');
      const key = await publicKeyOf(rsaKey.keyId);
      const options = pss
        ? { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: -1 /* RSA_PSS_SALTLEN_DIGEST */ }
        : { key };
      const message = Buffer.from(`message for ${algorithm}`);
      const raw = await client.send(new SignCommand({ KeyId: rsaKey.arn, Message: message, SigningAlgorithm: algorithm }));
      expect(nodeVerify(hash, message, options, raw.Signature ?? new Uint8Array())).toBe(true);
      expect(nodeVerify(hash, Buffer.from('another message'), options, raw.Signature ?? new Uint8Array())).toBe(false);
    },
  );

  it('rejects ECDSA_SHA_256 on an RSA key with InvalidKeyUsageException', async () => {
    expect(
      await errorName(client.send(new SignCommand({ KeyId: rsaKey.keyId, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' }))),
    ).toBe('InvalidKeyUsageException');
  });

  it('rejects an RSA algorithm on a P-256 key with InvalidKeyUsageException', async () => {
    expect(
      await errorName(
        client.send(new SignCommand({ KeyId: ecKey.keyId, Message: Buffer.from('m'), SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' })),
      ),
    ).toBe('InvalidKeyUsageException');
  });

  it('rejects a message over 4096 bytes with ValidationException and signs one of exactly 4096', async () => {
    expect(
      await errorName(client.send(new SignCommand({ KeyId: ecKey.keyId, Message: Buffer.alloc(4097), SigningAlgorithm: 'ECDSA_SHA_256' }))),
    ).toBe('ValidationException');
    const ok = await client.send(new SignCommand({ KeyId: ecKey.keyId, Message: Buffer.alloc(4096), SigningAlgorithm: 'ECDSA_SHA_256' }));
    expect(ok.Signature?.length).toBeGreaterThan(64);
  });

  it('rejects Sign with an unknown key with NotFoundException', async () => {
    expect(
      await errorName(client.send(new SignCommand({ KeyId: 'alias/nope', Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' }))),
    ).toBe('NotFoundException');
  });
});

describe('KMS stand-in: only what the project uses', () => {
  it('answers DescribeKey and Verify, operations the project never calls, with UnknownOperationException', async () => {
    expect(await errorName(client.send(new DescribeKeyCommand({ KeyId: 'alias/test-ec' })))).toBe('UnknownOperationException');
    const verify = new VerifyCommand({
      KeyId: 'alias/test-ec',
      Message: Buffer.from('m'),
      Signature: Buffer.alloc(70, 1),
      SigningAlgorithm: 'ECDSA_SHA_256',
    });
    expect(await errorName(client.send(verify))).toBe('UnknownOperationException');
  });

  it('refuses ECC_NIST_P384 and RSA_3072 keys with UnsupportedOperationException', async () => {
    for (const KeySpec of ['ECC_NIST_P384', 'RSA_3072'] as const) {
      expect(await errorName(client.send(new CreateKeyCommand({ KeySpec, KeyUsage: 'SIGN_VERIFY' })))).toBe(
        'UnsupportedOperationException',
      );
    }
  });
});

describe('KMS stand-in: protocol edges', () => {
  it('is reached by a client configured only through AWS_ENDPOINT_URL_KMS', async () => {
    const previous = process.env['AWS_ENDPOINT_URL_KMS'];
    process.env['AWS_ENDPOINT_URL_KMS'] = kms.endpoint;
    const fromEnv = new KMSClient({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    try {
      const out = await fromEnv.send(new GetPublicKeyCommand({ KeyId: 'alias/test-rsa' }));
      expect(out.KeyId).toBe(rsaKey.arn);
    } finally {
      fromEnv.destroy();
      if (previous === undefined) delete process.env['AWS_ENDPOINT_URL_KMS'];
      else process.env['AWS_ENDPOINT_URL_KMS'] = previous;
    }
  });

  it('rejects a request without Authorization with MissingAuthenticationToken', async () => {
    const res = await rawRequest(
      'POST',
      '/',
      { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'TrentService.GetPublicKey' },
      JSON.stringify({ KeyId: ecKey.keyId }),
    );
    expect(res.status).toBe(403);
    expect(res.headers['x-amzn-errortype']).toBe('MissingAuthenticationToken');
    expect(JSON.parse(res.body)).toMatchObject({ __type: 'MissingAuthenticationToken' });
  });

  it('rejects an Authorization header that is not SigV4 for kms with IncompleteSignature', async () => {
    const res = await rawRequest(
      'POST',
      '/',
      { ...SIGNED_HEADERS, Authorization: 'Bearer abc', 'X-Amz-Target': 'TrentService.GetPublicKey' },
      JSON.stringify({ KeyId: ecKey.keyId }),
    );
    expect(res.status).toBe(400);
    expect(res.headers['x-amzn-errortype']).toBe('IncompleteSignature');
  });

  it('answers malformed JSON with a 400 SerializationException, never a 500', async () => {
    const res = await rawRequest('POST', '/', { ...SIGNED_HEADERS, 'X-Amz-Target': 'TrentService.Sign' }, '{"KeyId": ');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ __type: 'SerializationException' });
  });

  it('answers a wrongly typed member with a 400 SerializationException', async () => {
    const res = await rawRequest(
      'POST',
      '/',
      { ...SIGNED_HEADERS, 'X-Amz-Target': 'TrentService.Sign' },
      JSON.stringify({ KeyId: ecKey.keyId, Message: 12, SigningAlgorithm: 'ECDSA_SHA_256' }),
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ __type: 'SerializationException' });
  });

  it('answers a missing required member with ValidationException naming it', async () => {
    const res = await rawRequest(
      'POST',
      '/',
      { ...SIGNED_HEADERS, 'X-Amz-Target': 'TrentService.Sign' },
      JSON.stringify({ KeyId: ecKey.keyId, Message: 'AA==' }),
    );
    expect(res.status).toBe(400);
    const body: unknown = JSON.parse(res.body);
    expect(body).toMatchObject({ __type: 'ValidationException' });
    expect(JSON.stringify(body)).toContain("'signingAlgorithm'");
  });

  it('answers an unknown X-Amz-Target with UnknownOperationException', async () => {
    const res = await rawRequest('POST', '/', { ...SIGNED_HEADERS, 'X-Amz-Target': 'TrentService.GenerateDataKey' }, '{}');
    expect(res.status).toBe(400);
    expect(res.headers['x-amzn-errortype']).toBe('UnknownOperationException');
  });

  it('refuses to listen on a non-loopback address', async () => {
    await expect(startKmsStandin({ host: '0.0.0.0' })).rejects.toThrow(/loopback/);
  });
});

describe('KMS stand-in: fault injection and call counts', () => {
  it('makes the next Sign fail with ThrottlingException through the SDK, then recovers', async () => {
    kms.injectFault({ errorType: 'ThrottlingException', count: 1, operations: ['Sign'] });
    const sign = () =>
      client.send(new SignCommand({ KeyId: ecKey.keyId, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' }));
    expect(await errorName(sign())).toBe('ThrottlingException');
    expect((await sign()).Signature?.length).toBeGreaterThan(0);
  });

  it('returns KMSInternalException with HTTP 500, and the SDK retries it (counted per attempt)', async () => {
    const retrying = newClient(kms.endpoint, 3);
    kms.resetCalls();
    kms.injectFault({ errorType: 'KMSInternalException', operations: ['GetPublicKey'] });
    try {
      const err = await retrying.send(new GetPublicKeyCommand({ KeyId: ecKey.keyId })).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'KMSInternalException', $metadata: { httpStatusCode: 500 } });
      expect(kms.calls()).toEqual({ GetPublicKey: 3 });
    } finally {
      kms.clearFaults();
      retrying.destroy();
    }
  });

  it('delays a response long enough for a client timeout to fire', async () => {
    kms.injectFault({ delayMs: 2_000, count: 1, operations: ['GetPublicKey'] });
    const started = Date.now();
    const name = await errorName(
      client.send(new GetPublicKeyCommand({ KeyId: ecKey.keyId }), { abortSignal: AbortSignal.timeout(300) }),
    );
    expect(name).not.toBe('no error');
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('accepts faults and reports call counts over HTTP for tests in another process', async () => {
    await rawRequest('DELETE', '/__standin/calls', {});
    const bad = await rawRequest('POST', '/__standin/faults', { 'Content-Type': 'application/json' }, '{"count": 1}');
    expect(bad.status).toBe(400);
    const ok = await rawRequest(
      'POST',
      '/__standin/faults',
      { 'Content-Type': 'application/json' },
      JSON.stringify({ errorType: 'ThrottlingException', count: 2 }),
    );
    expect(ok.status).toBe(200);
    const sign = new SignCommand({ KeyId: ecKey.keyId, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' });
    expect(await errorName(client.send(sign))).toBe('ThrottlingException');
    expect(await errorName(client.send(new GetPublicKeyCommand({ KeyId: ecKey.keyId })))).toBe('ThrottlingException');
    await client.send(new GetPublicKeyCommand({ KeyId: ecKey.keyId }));
    const calls = await rawRequest('GET', '/__standin/calls', {});
    expect(JSON.parse(calls.body)).toEqual({ Sign: 1, GetPublicKey: 2 });
    expect(kms.calls()).toEqual({ Sign: 1, GetPublicKey: 2 });
  });

  it('does not count requests rejected before the operation is known', async () => {
    kms.resetCalls();
    await rawRequest('POST', '/', { 'X-Amz-Target': 'TrentService.Sign' }, '{}');
    await rawRequest('POST', '/', { ...SIGNED_HEADERS, 'X-Amz-Target': 'TrentService.Nope' }, '{}');
    expect(kms.calls()).toEqual({});
  });
});

describe('KMS stand-in: state file', () => {
  it('refuses to start from a state file that is not its format', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kms-standin-'));
    try {
      const stateFile = join(dir, 'kms-state.json');
      await writeFile(stateFile, JSON.stringify({ version: 1, keys: [{ keyId: 'x' }], aliases: [] }));
      await expect(startKmsStandin({ stateFile })).rejects.toThrow(/state file .* is invalid/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps keys and aliases across a restart in a 0600 file, signing with the same key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kms-standin-'));
    const stateFile = join(dir, 'kms-state.json');
    try {
      const first = await startKmsStandin({ stateFile });
      const key = await first.createKey('ECC_NIST_P256', 'alias/persisted');
      const c1 = newClient(first.endpoint);
      const pub1 = await c1.send(new GetPublicKeyCommand({ KeyId: 'alias/persisted' }));
      c1.destroy();
      await first.close();

      expect((await stat(stateFile)).mode & 0o777).toBe(0o600);

      const second = await startKmsStandin({ stateFile });
      const c2 = newClient(second.endpoint);
      try {
        const pub2 = await c2.send(new GetPublicKeyCommand({ KeyId: 'alias/persisted' }));
        expect(pub2.KeyId).toBe(key.arn);
        expect(Buffer.from(pub2.PublicKey ?? new Uint8Array())).toEqual(Buffer.from(pub1.PublicKey ?? new Uint8Array()));
        const message = Buffer.from('after restart');
        const signed = await c2.send(new SignCommand({ KeyId: key.keyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }));
        const publicKey = createPublicKey({ key: Buffer.from(pub1.PublicKey ?? new Uint8Array()), format: 'der', type: 'spki' });
        expect(nodeVerify('sha256', message, { key: publicKey, dsaEncoding: 'der' }, signed.Signature ?? new Uint8Array())).toBe(true);
      } finally {
        c2.destroy();
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
