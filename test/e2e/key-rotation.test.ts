/**
 * Key rotation at run time, over HTTP against the local service (the unchanged handlers, DynamoDB
 * Local, the KMS stand-in): the operator's `rotate-key` (the real CLI process with `--local`, and
 * the same code in process) makes a new key sign the next token, every key verifies while tokens
 * it signed are in flight, a retired key leaves the JWKS and stops verifying once its window has
 * passed, and concurrent rotations leave one consistent registry.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetPublicKeyCommand, KMSClient, ListResourceTagsCommand } from '@aws-sdk/client-kms';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyRotationError, listKeys, rotateKey } from '../../cli/key-rotation.ts';
import { createKeyOperatorDeps } from '../../cli/wiring.ts';
import { createDynamoDbClient, createKmsClient } from '../../lambdas/adapters/runtime.ts';
import { DEPLOYMENT_TAG_KEY } from '../../lambdas/core/key-registry.ts';
import { startLocalService, type LocalService } from '../../local/service.ts';
import { createServiceTable } from '../../local/table.ts';
import { request } from '../support/http-client.ts';

const REPO_ROOT = join(import.meta.dirname, '../..');
const PASSWORD = 'correct horse battery staple';
/** Key 1's retirement window in this test: long enough for the checks before it ends, short enough to wait out. */
const KEY1_WINDOW_SECONDS = 12;
let service: LocalService;
let stateDir: string;

const login = () => request(service.url, 'POST', '/login', { json: { username: 'demo', password: PASSWORD } });
const refresh = (token: unknown) => request(service.url, 'POST', '/refresh', { json: { refresh_token: token } });
const whoami = (token: unknown) => request(service.url, 'GET', '/whoami', { headers: { authorization: `Bearer ${String(token)}` } });
const jwksKids = async (): Promise<string[]> => {
  const res = await request(service.url, 'GET', '/.well-known/jwks.json');
  expect(res.status).toBe(200);
  return (res.body['keys'] as { kid: string }[]).map((key) => key.kid);
};
const kidOf = (token: unknown): string => String(decodeProtectedHeader(String(token)).kid);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

function runAdmin(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), 'cli/admin.ts', ...args],
      { cwd: REPO_ROOT, env: { ...process.env, KMS_JWT_AUTH_STATE_DIR: stateDir }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'kms-jwt-auth-rotation-'));
  service = await startLocalService({ port: 0, demoPassword: PASSWORD, stateDir });
});

afterAll(async () => {
  await service.stop();
  await rm(stateDir, { recursive: true, force: true });
});

describe('rotate-key while tokens are in flight', () => {
  it('two rotations: tokens of all three keys verify, the newest key signs, refresh keeps working, and key 1 leaves after its window', async () => {
    const a = (await login()).body;
    expect(a['access_token']).toBeDefined();
    const kid1 = kidOf(a['access_token']);
    expect(await jwksKids()).toEqual([kid1]);
    expect((await runAdmin(['--local', 'list-keys'])).stdout).toMatch(/no rotation yet/);

    // First rotation: the real CLI against the running service, seeding the registry from the key
    // the service was started with.
    const first = await runAdmin(['--local', 'rotate-key', '--retire-after', String(KEY1_WINDOW_SECONDS)]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`retired: kid ${kid1}`));
    const b = (await login()).body;
    const kid2 = kidOf(b['access_token']);
    expect(kid2).not.toBe(kid1);
    expect(first.stdout).toContain(`signing now: kid ${kid2}`);

    // Second rotation, the same code in process, default window.
    const second = await rotateKey(service.keyOperatorDeps());
    const c = (await login()).body;
    const kid3 = kidOf(c['access_token']);
    expect(kid3).toBe(second.signing.kid);
    expect(new Set([kid1, kid2, kid3]).size).toBe(3);

    const key1 = second.registry.keys.find((key) => key.kid === kid1);
    const key1Until = key1?.verifyUntil ?? 0;
    expect(Date.now() / 1000, 'the checks below must run inside key 1\'s window').toBeLessThan(key1Until);
    for (const token of [a, b, c]) expect((await whoami(token['access_token'])).status).toBe(200);
    expect((await jwksKids()).sort()).toEqual([kid1, kid2, kid3].sort());
    expect((await jwksKids())[0]).toBe(kid3);

    // Refresh across rotations: A's session gets a token signed by key 3, which works.
    const refreshedA = await refresh(a['refresh_token']);
    expect(refreshedA.status).toBe(200);
    expect(kidOf(refreshedA.body['access_token'])).toBe(kid3);
    expect((await whoami(refreshedA.body['access_token'])).status).toBe(200);
    const refreshedB = await refresh(b['refresh_token']);
    expect(kidOf(refreshedB.body['access_token'])).toBe(kid3);

    const listed = await runAdmin(['--local', 'list-keys']);
    expect(listed.stdout).toMatch(new RegExp(`signing\\s+kid=${kid3}`));
    expect(listed.stdout).toMatch(new RegExp(`verifying until \\S+\\s+kid=${kid1}`));

    // Wait out key 1's window (no reload is needed: every verifier drops it by itself).
    await sleep(Math.max(0, (key1Until + 1) * 1000 - Date.now()) + 50);
    expect((await whoami(a['access_token'])).status).toBe(401);
    expect((await jwksKids()).sort()).toEqual([kid2, kid3].sort());
    expect((await whoami(b['access_token'])).status).toBe(200);
    expect((await whoami(c['access_token'])).status).toBe(200);
    expect((await runAdmin(['--local', 'list-keys'])).stdout).toMatch(new RegExp(`expired at \\S+\\s+kid=${kid1}`));

    // /revoke knows key 3 too: revoking C's access token stops it at the authorizer at once.
    expect((await request(service.url, 'POST', '/revoke', { json: { token: c['access_token'] } })).status).toBe(200);
    expect((await whoami(c['access_token'])).status).toBe(401);
  }, 60_000);

  it('the rotated-in keys carry the deployment tag, so the stack\'s tag-conditioned grants cover them', async () => {
    const keys = (await listKeys(service.keyOperatorDeps())) ?? [];
    const kms = new KMSClient({ endpoint: service.kms.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
    const created = keys.filter((key) => key.keyId !== service.signingKeyArn);
    expect(created.length).toBeGreaterThanOrEqual(2);
    for (const key of created) {
      const tags = await kms.send(new ListResourceTagsCommand({ KeyId: key.keyId }));
      expect(tags.Tags).toContainEqual({ TagKey: DEPLOYMENT_TAG_KEY, TagValue: service.tableName });
    }
    kms.destroy();
  });

  it('concurrent rotations: exactly one lands, the others change nothing and their keys are scheduled for deletion', async () => {
    const deps = service.keyOperatorDeps();
    const before = await deps.registry.read();
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => rotateKey(deps)));
    const landed = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const refused = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
    expect(landed.length).toBe(1);
    expect(refused.length).toBe(3);
    for (const reason of refused) expect(reason).toBeInstanceOf(KeyRotationError);
    const after = await deps.registry.read();
    expect(after?.version).toBe((before?.version ?? 0) + 1);
    expect(after).toEqual(landed[0]?.registry);
    // Tokens are signed by the winner; the losers' keys exist only pending deletion.
    expect(kidOf((await login()).body['access_token'])).toBe(landed[0]?.signing.kid);
    const kms = new KMSClient({ endpoint: service.kms.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
    const listedIds = new Set(after?.keys.map((key) => key.keyId));
    const allCalls = service.kms.calls();
    expect(allCalls['ScheduleKeyDeletion']).toBeGreaterThanOrEqual(3);
    for (const key of after?.keys ?? []) await expect(kms.send(new GetPublicKeyCommand({ KeyId: key.keyId }))).resolves.toBeDefined();
    expect(listedIds.size).toBe(after?.keys.length);
    kms.destroy();
  }, 30_000);

  it('concurrent first rotations of a deployment race on creating the registry: one lands', async () => {
    const table = `rotation-race-${Date.now()}`;
    const dynamo = createDynamoDbClient({ region: 'us-east-1', credentials, endpoint: service.dynamo.endpoint });
    await createServiceTable(dynamo, table);
    const kms = createKmsClient({ region: 'us-east-1', credentials, endpoint: service.kms.endpoint });
    const deps = createKeyOperatorDeps({ TABLE_NAME: table }, dynamo, kms);
    const results = await Promise.allSettled(Array.from({ length: 3 }, () => rotateKey(deps, { currentKeyId: service.signingKeyArn })));
    expect(results.filter((result) => result.status === 'fulfilled').length).toBe(1);
    const registry = await deps.registry.read();
    expect(registry?.version).toBe(1);
    expect(registry?.keys.length).toBe(2);
    expect(registry?.keys[0]?.keyId).toBe(service.signingKeyArn);
  }, 30_000);

  it('while KMS has not yet authorized the new key for the issuers, tokens are signed by the key it replaced and verify', async () => {
    // The authorizer has not met the key that signs now (the concurrent rotations above made it),
    // and reloads for an unknown kid at most once a second: let that second pass first.
    await sleep(1_100);
    const before = kidOf((await login()).body['access_token']);
    const rotated = await rotateKey(service.keyOperatorDeps());
    // KMS answers the issuers' Sign DryRun with AccessDenied once (its tag not yet in effect).
    service.kms.injectFault({ errorType: 'AccessDeniedException', operations: ['Sign'], count: 1 });
    const during = await login();
    expect(during.status).toBe(200);
    expect(kidOf(during.body['access_token'])).toBe(before);
    expect((await whoami(during.body['access_token'])).status).toBe(200);
    // Once KMS allows it, the new key signs.
    const after = await login();
    expect(kidOf(after.body['access_token'])).toBe(rotated.signing.kid);
  });

  it('never falls back to a key retired as compromised: while KMS refuses the new key, login is 503 and stores nothing', async () => {
    await rotateKey(service.keyOperatorDeps(), { retireWindowSeconds: 0 });
    service.kms.injectFault({ errorType: 'AccessDeniedException', operations: ['Sign'], count: 2 });
    const during = await login();
    expect(during.status).toBe(503);
    expect(during.body['error']).toBe('temporarily_unavailable');
    service.kms.clearFaults();
    expect((await login()).status).toBe(200);
  });

  it('a rotation the registry cannot take is refused before any KMS key is created', async () => {
    service.kms.resetCalls();
    const before = await service.keyOperatorDeps().registry.read();
    await expect(rotateKey(service.keyOperatorDeps(), { retireWindowSeconds: -1 })).rejects.toThrow(/retirement window/);
    expect(service.kms.calls()['CreateKey']).toBeUndefined();
    expect(await service.keyOperatorDeps().registry.read()).toEqual(before);
  });

  it('a first rotation without the current key changes nothing and says what is missing', async () => {
    const table = `rotation-unseeded-${Date.now()}`;
    const dynamo = createDynamoDbClient({ region: 'us-east-1', credentials, endpoint: service.dynamo.endpoint });
    await createServiceTable(dynamo, table);
    const kms = createKmsClient({ region: 'us-east-1', credentials, endpoint: service.kms.endpoint });
    const deps = createKeyOperatorDeps({ TABLE_NAME: table }, dynamo, kms);
    service.kms.resetCalls();
    await expect(rotateKey(deps)).rejects.toThrow(/--current-key/);
    expect(service.kms.calls()['CreateKey']).toBeUndefined();
    expect(await deps.registry.read()).toBeUndefined();
  });
});
