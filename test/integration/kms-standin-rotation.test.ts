/**
 * What the operator's `rotate-key` needs from the KMS stand-in, driven by the real
 * @aws-sdk/client-kms: CreateKey with Tags and Policy, GetKeyPolicy, ListResourceTags and
 * ScheduleKeyDeletion, with the errors the KMS API reference gives for each.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateKeyCommand,
  GetKeyPolicyCommand,
  GetPublicKeyCommand,
  KMSClient,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKmsStandin, type KmsStandin } from '../../local/kms-standin/server.ts';

let kms: KmsStandin;
let client: KMSClient;

beforeAll(async () => {
  kms = await startKmsStandin({ port: 0 });
  client = new KMSClient({ endpoint: kms.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
});

afterAll(async () => {
  client.destroy();
  await kms.close();
});

async function errorName(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return err instanceof Error ? err.name : 'non-Error thrown';
  }
  return 'no error';
}

const TAG = { TagKey: 'kms-jwt-auth:deployment', TagValue: 'auth-table' };
const createSigningKey = (extra: Record<string, unknown> = {}) =>
  client.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY', ...extra }));

describe('KMS stand-in: what rotate-key uses', () => {
  it('creates a key with tags and lists them back', async () => {
    const created = await createSigningKey({ Tags: [TAG] });
    const tags = await client.send(new ListResourceTagsCommand({ KeyId: created.KeyMetadata?.Arn }));
    expect(tags.Tags).toEqual([TAG]);
    expect(tags.Truncated).toBe(false);
  });

  it('pages tags with Limit and NextMarker', async () => {
    const created = await createSigningKey({ Tags: [TAG, { TagKey: 'b', TagValue: '' }, { TagKey: 'c', TagValue: 'x' }] });
    const first = await client.send(new ListResourceTagsCommand({ KeyId: created.KeyMetadata?.KeyId, Limit: 2 }));
    expect(first.Tags?.length).toBe(2);
    expect(first.Truncated).toBe(true);
    const rest = await client.send(new ListResourceTagsCommand({ KeyId: created.KeyMetadata?.KeyId, Marker: first.NextMarker }));
    expect(rest.Tags).toEqual([{ TagKey: 'c', TagValue: 'x' }]);
    expect(await errorName(client.send(new ListResourceTagsCommand({ KeyId: created.KeyMetadata?.KeyId, Marker: 'nonsense' })))).toBe('InvalidMarkerException');
  });

  it.each([
    ['a repeated tag key', [TAG, TAG]],
    ['a reserved aws: tag key', [{ TagKey: 'aws:x', TagValue: 'y' }]],
  ])('refuses %s with TagException', async (_name, tags) => {
    expect(await errorName(createSigningKey({ Tags: tags }))).toBe('TagException');
  });

  it('refuses an empty tag key and an over-long tag value with ValidationException', async () => {
    expect(await errorName(createSigningKey({ Tags: [{ TagKey: '', TagValue: 'v' }] }))).toBe('ValidationException');
    expect(await errorName(createSigningKey({ Tags: [{ TagKey: 'k', TagValue: 'v'.repeat(257) }] }))).toBe('ValidationException');
  });

  it('gives a key created without a policy the default key policy, and keeps a policy it was given', async () => {
    const plain = await createSigningKey();
    const policy = JSON.parse(String((await client.send(new GetKeyPolicyCommand({ KeyId: plain.KeyMetadata?.KeyId }))).Policy)) as {
      Statement: { Action: string }[];
    };
    expect(policy.Statement[0]?.Action).toBe('kms:*');
    const own = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'Mine', Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:GetPublicKey', Resource: '*' }] });
    const custom = await createSigningKey({ Policy: own });
    const read = await client.send(new GetKeyPolicyCommand({ KeyId: custom.KeyMetadata?.Arn, PolicyName: 'default' }));
    expect(read.Policy).toBe(own);
    expect(read.PolicyName).toBe('default');
  });

  it('refuses a policy that is not JSON with MalformedPolicyDocumentException', async () => {
    expect(await errorName(createSigningKey({ Policy: '{not json' }))).toBe('MalformedPolicyDocumentException');
  });

  it('schedules a key for deletion: it then neither signs nor gives its public key, and cannot be scheduled twice', async () => {
    const created = await createSigningKey({ Tags: [TAG] });
    const keyId = created.KeyMetadata?.KeyId;
    const scheduled = await client.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    expect(scheduled.KeyState).toBe('PendingDeletion');
    expect(scheduled.PendingWindowInDays).toBe(7);
    expect((scheduled.DeletionDate?.getTime() ?? 0) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    expect(await errorName(client.send(new GetPublicKeyCommand({ KeyId: keyId })))).toBe('KMSInvalidStateException');
    expect(
      await errorName(client.send(new SignCommand({ KeyId: keyId, Message: Buffer.from('x'), MessageType: 'RAW', SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' }))),
    ).toBe('KMSInvalidStateException');
    expect(await errorName(client.send(new ScheduleKeyDeletionCommand({ KeyId: keyId })))).toBe('KMSInvalidStateException');
    // Tags can still be read (ListResourceTags works on a key pending deletion).
    expect((await client.send(new ListResourceTagsCommand({ KeyId: keyId }))).Tags).toEqual([TAG]);
  });

  it('refuses a pending window outside 7-30 days and an unknown key', async () => {
    const created = await createSigningKey();
    expect(await errorName(client.send(new ScheduleKeyDeletionCommand({ KeyId: created.KeyMetadata?.KeyId, PendingWindowInDays: 6 })))).toBe('ValidationException');
    expect(await errorName(client.send(new ScheduleKeyDeletionCommand({ KeyId: '00000000-0000-0000-0000-000000000000' })))).toBe('NotFoundException');
  });

  it('keeps tags, policy and deletion state across a restart with a state file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kms-standin-'));
    try {
      const stateFile = join(dir, 'kms.json');
      const first = await startKmsStandin({ port: 0, stateFile });
      const c1 = new KMSClient({ endpoint: first.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' }, maxAttempts: 1 });
      const created = await c1.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Tags: [TAG] }));
      await c1.send(new ScheduleKeyDeletionCommand({ KeyId: created.KeyMetadata?.KeyId, PendingWindowInDays: 7 }));
      c1.destroy();
      await first.close();
      const second = await startKmsStandin({ port: 0, stateFile });
      const c2 = new KMSClient({ endpoint: second.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' }, maxAttempts: 1 });
      expect((await c2.send(new ListResourceTagsCommand({ KeyId: created.KeyMetadata?.KeyId }))).Tags).toEqual([TAG]);
      expect(await errorName(c2.send(new GetPublicKeyCommand({ KeyId: created.KeyMetadata?.KeyId })))).toBe('KMSInvalidStateException');
      c2.destroy();
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
