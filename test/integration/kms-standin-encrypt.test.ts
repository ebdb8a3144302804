/**
 * The KMS stand-in's symmetric keys, driven by the real @aws-sdk/client-kms: CreateKey with the
 * defaults (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT), Encrypt and Decrypt with an encryption context,
 * and the errors the KMS API reference documents for them.
 */
import { CreateKeyCommand, DecryptCommand, EncryptCommand, GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKmsStandin, type KmsStandin } from '../../local/kms-standin/server.ts';

let kms: KmsStandin;
let client: KMSClient;
let keyArn: string;
let otherKeyArn: string;
let signingKeyArn: string;

async function errorName(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return err instanceof Error ? err.name : 'non-Error thrown';
  }
  return 'no error';
}

const CONTEXT = { purpose: 'totp', sub: 'user-a' };
const secret = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);

async function sealed(context: Record<string, string> = CONTEXT): Promise<Uint8Array> {
  const out = await client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: secret, EncryptionContext: context }));
  if (out.CiphertextBlob === undefined) throw new Error('no CiphertextBlob');
  return out.CiphertextBlob;
}

beforeAll(async () => {
  kms = await startKmsStandin({ port: 0 });
  client = new KMSClient({ endpoint: kms.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  keyArn = (await kms.createSymmetricKey('test')).arn;
  otherKeyArn = (await kms.createSymmetricKey('other')).arn;
  signingKeyArn = (await kms.createKey('RSA_2048')).arn;
});

afterAll(async () => {
  client.destroy();
  await kms.close();
});

describe('KMS stand-in: symmetric keys, Encrypt and Decrypt', () => {
  it('creates a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key by default, with the metadata KMS returns', async () => {
    const out = await client.send(new CreateKeyCommand({ Description: 'mfa' }));
    expect(out.KeyMetadata).toMatchObject({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'], Enabled: true });
    expect(out.KeyMetadata?.Arn).toMatch(/^arn:aws:kms:us-east-1:\d{12}:key\/[0-9a-f-]{36}$/);
  });

  it('encrypts to bytes that are not the plaintext and decrypts them back with the same context, without a KeyId', async () => {
    const blob = await sealed();
    expect(Buffer.from(blob).includes(Buffer.from(secret))).toBe(false);
    const out = await client.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { sub: 'user-a', purpose: 'totp' } }));
    expect(Buffer.from(out.Plaintext ?? [])).toEqual(Buffer.from(secret));
    expect(out.KeyId).toBe(keyArn);
    expect(out.EncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');
  });

  it('encrypts the same plaintext differently each time (a fresh IV)', async () => {
    expect(Buffer.from(await sealed())).not.toEqual(Buffer.from(await sealed()));
  });

  it('refuses another encryption context with InvalidCiphertextException: a ciphertext moved to another user does not open', async () => {
    const blob = await sealed();
    expect(await errorName(client.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { purpose: 'totp', sub: 'user-b' } })))).toBe(
      'InvalidCiphertextException',
    );
    expect(await errorName(client.send(new DecryptCommand({ CiphertextBlob: blob })))).toBe('InvalidCiphertextException');
    expect(await errorName(client.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { ...CONTEXT, extra: 'x' } })))).toBe(
      'InvalidCiphertextException',
    );
  });

  it('refuses a changed or truncated ciphertext with InvalidCiphertextException', async () => {
    const blob = Buffer.from(await sealed());
    const flipped = Buffer.from(blob);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
    expect(await errorName(client.send(new DecryptCommand({ CiphertextBlob: flipped, EncryptionContext: CONTEXT })))).toBe('InvalidCiphertextException');
    expect(await errorName(client.send(new DecryptCommand({ CiphertextBlob: blob.subarray(0, 40), EncryptionContext: CONTEXT })))).toBe(
      'InvalidCiphertextException',
    );
  });

  it('refuses a KeyId other than the key that encrypted with IncorrectKeyException', async () => {
    const blob = await sealed();
    expect(await errorName(client.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: otherKeyArn, EncryptionContext: CONTEXT })))).toBe(
      'IncorrectKeyException',
    );
    const out = await client.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: keyArn, EncryptionContext: CONTEXT }));
    expect(Buffer.from(out.Plaintext ?? [])).toEqual(Buffer.from(secret));
  });

  it('refuses a signing key for Encrypt and Decrypt with InvalidKeyUsageException', async () => {
    expect(await errorName(client.send(new EncryptCommand({ KeyId: signingKeyArn, Plaintext: secret })))).toBe('InvalidKeyUsageException');
    expect(await errorName(client.send(new DecryptCommand({ CiphertextBlob: await sealed(), KeyId: signingKeyArn, EncryptionContext: CONTEXT })))).toBe(
      'InvalidKeyUsageException',
    );
  });

  it('refuses an asymmetric encryption algorithm with InvalidKeyUsageException', async () => {
    expect(await errorName(client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: secret, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })))).toBe(
      'InvalidKeyUsageException',
    );
  });

  it('answers NotFoundException for an unknown key', async () => {
    const unknown = keyArn.replace(/key\/.*/, 'key/00000000-0000-0000-0000-000000000000');
    expect(await errorName(client.send(new EncryptCommand({ KeyId: unknown, Plaintext: secret })))).toBe('NotFoundException');
  });

  it('refuses an empty plaintext or one over 4096 bytes with ValidationException', async () => {
    expect(await errorName(client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: new Uint8Array(0) })))).toBe('ValidationException');
    expect(await errorName(client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: new Uint8Array(4097) })))).toBe('ValidationException');
  });

  it('does not sign with a symmetric key (InvalidKeyUsageException) nor give its public key (UnsupportedOperationException)', async () => {
    expect(await errorName(client.send(new SignCommand({ KeyId: keyArn, Message: secret, SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' })))).toBe(
      'InvalidKeyUsageException',
    );
    expect(await errorName(client.send(new GetPublicKeyCommand({ KeyId: keyArn })))).toBe('UnsupportedOperationException');
  });

  it('counts Encrypt and Decrypt calls like the other operations', async () => {
    kms.resetCalls();
    await client.send(new DecryptCommand({ CiphertextBlob: await sealed(), EncryptionContext: CONTEXT }));
    expect(kms.calls()).toEqual({ Encrypt: 1, Decrypt: 1 });
  });
});
